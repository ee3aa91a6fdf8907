import java.util.ArrayList;
import java.util.List;

public class Memory {
    public static void main(String[] args) {
        List<byte[]> chunks = new ArrayList<>();
        for (;;) chunks.add(new byte[16 << 20]);
    }
}
