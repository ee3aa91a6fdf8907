public class Exit3 {
    public static void main(String[] args) {
        System.err.println("bye");
        System.exit(3);
    }
}
