import static org.junit.jupiter.api.Assertions.*;
import org.junit.jupiter.api.Test;

class AddTest {
    @Test
    void addSmall() {
        assertEquals(5, Add.add(2, 3));
    }

    @Test
    void addTrue() {
        assertTrue(Add.add(0, 0) == 0, "zero plus zero");
    }
}
