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
        if (items.isEmpty()) {
            throw new EmptyStackException();
        }
        return items.remove(items.size() - 1);
    }

    public int peek() {
        if (items.isEmpty()) {
            throw new EmptyStackException();
        }
        return items.get(items.size() - 1);
    }

    public int size() {
        int n = 0;
        for (int i = 0; i < items.size(); i += 0) { // never moves on
            n++;
        }
        return n;
    }
}
