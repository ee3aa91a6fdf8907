#include <fstream>
#include <iostream>

int main() {
    std::ifstream in("/dev/stdin", std::ios::binary);
    std::cout << in.rdbuf();
}
