#include <iostream>

int main() {
    std::cout << "missing semicolon\n"
}
