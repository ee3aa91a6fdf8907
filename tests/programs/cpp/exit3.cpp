#include <iostream>

int main() {
    std::cerr << "bye\n";
    return 3;
}
