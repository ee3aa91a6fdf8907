import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.EmptyStackException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class StackTest {
    @Test
    void pushThenPop() {
        Stack s = new Stack();
        s.push(1);
        s.push(2);
        assertEquals(2, s.pop());
        assertEquals(1, s.pop());
    }

    @Test
    @DisplayName("peek does not remove")
    void peekKeeps() {
        Stack s = new Stack();
        s.push(7);
        System.out.println("peeking at 7");
        assertEquals(7, s.peek());
        assertEquals(1, s.size());
    }

    @Test
    void popEmptyThrows() {
        assertThrows(EmptyStackException.class, () -> new Stack().pop());
    }
}
