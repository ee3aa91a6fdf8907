import java.util.ArrayList;
import java.util.EmptyStackException;
import java.util.List;

/** A stack of ints: the student's solution. */
public class Stack {
    private final List<Integer> items = new ArrayList<>();

    public void push(int x) {
        items.add(x);
    }

    public int pop() {
        return items.remove(items.size() - 1);
    }

    public int peek() {
        if (items.isEmpty()) {
            throw new EmptyStackException();
        }
        return items.remove(items.size() - 1); // removes: not a peek
    }

    public int size() {
        return items.size();
    }
}
