#import <objc/runtime.h>

__attribute__((objc_root_class))
@interface Broken {
    Class isa;
}
- (int)value
@end

int main(void) {
    return 0;
}
