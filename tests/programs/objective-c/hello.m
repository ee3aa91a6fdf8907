// Plain Objective-C on GCC's runtime (libobjc), without Foundation: a root class of its own.
#import <objc/runtime.h>
#include <stdio.h>

__attribute__((objc_root_class))
@interface Greeter {
    Class isa;
}
+ (id)new;
- (void)greet:(const char *)whom;
@end

@implementation Greeter
+ (id)new {
    return class_createInstance(self, 0);
}
- (void)greet:(const char *)whom {
    printf("Hello, %s!\n", whom);
}
@end

int main(void) {
    Greeter *g = [Greeter new];
    [g greet:"World"];
    return 0;
}
