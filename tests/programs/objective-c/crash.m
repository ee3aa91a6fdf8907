// A failed assertion in a method: the C runtime reports it and aborts (SIGABRT). Without
// Foundation there is no NSException, and GCC's libobjc prints nothing for an uncaught @throw.
#import <objc/runtime.h>
#include <assert.h>
#include <stdio.h>

__attribute__((objc_root_class))
@interface Stack {
    Class isa;
    int count;
}
+ (id)new;
- (int)pop;
@end

@implementation Stack
+ (id)new {
    return class_createInstance(self, 0);
}
- (int)pop {
    assert(count > 0 && "pop from an empty stack");
    return --count;
}
@end

int main(void) {
    Stack *s = [Stack new];
    printf("%d\n", [s pop]);
    return 0;
}
