#include <iostream>

int main() {
    std::ios::sync_with_stdio(false);
    std::cout << std::cin.rdbuf();
    return 0;
}
