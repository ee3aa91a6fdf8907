/*
 * runbox's judge mode for Java (docs/judge.md): both ends of the pipe between the instructor's
 * tests (the judge box) and the student's classes (the student box), one JSON document per line.
 *
 * Judge box: the classes runbox generates from the exercise's interface (src/job/stubs_java.c)
 * have the student's class names; their methods call construct/call/callMethod here, which
 * write one request on fd 4 and read one reply on fd 3. Before a request, "!test NAME" is sent
 * when the running test (the system property runbox.test, set by RunboxListener) changed.
 * "!plan N" goes first when the listener counted the tests (runbox.plan): the runner's
 * default budget per test is a share of the run's time. {"ok": V} returns V; {"err": ...} throws the student's exception again when it is a JDK
 * RuntimeException (so assertThrows(IllegalArgumentException.class, ...) works), else a
 * RunboxRpc.RemoteException; {"timeout": S} and {"crash": M} throw a RunboxRpc.Failure, an
 * AssertionError, so that no assertThrows of an exception type can take them for a pass.
 *
 * Student box: serve() is the server's main loop (the generated runbox.RunboxStudentMain calls
 * it with the interface's signatures). It says {"ready":true} on fd 4, then reads requests on
 * fd 3, calls the student's classes by reflection (so a missing class or method fails only the
 * tests that use it) and answers each. Objects of declared classes stay here, in a table; they
 * cross as {"$ref": N}.
 *
 * The JDK has no JSON library and no jar may be assumed, so a small reader and writer are here.
 */
package runbox;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class RunboxRpc {
    private RunboxRpc() {
    }

    /*** JSON: null, Boolean, Long (integers), Double, String, List<Object>, Map<String, Object> ***/

    private static final int MAX_DEPTH = 512;

    static final class Parser {
        private final String s;
        private int i;
        private int depth;

        private Parser(String s) {
            this.s = s;
        }

        static Object parse(String s) {
            Parser p = new Parser(s);
            p.ws();
            Object v = p.value();
            p.ws();
            if (p.i != s.length())
                throw p.bad("text after the value");
            return v;
        }

        private IllegalArgumentException bad(String why) {
            return new IllegalArgumentException("bad JSON at offset " + i + ": " + why);
        }

        private void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0)
                i++;
        }

        private void expect(char c) {
            if (i >= s.length() || s.charAt(i) != c)
                throw bad("expected '" + c + "'");
            i++;
        }

        private Object value() {
            if (i >= s.length())
                throw bad("unexpected end");
            char c = s.charAt(i);
            if (c == '{' || c == '[') {
                if (++depth > MAX_DEPTH)
                    throw bad("nested too deep");
                Object v = c == '{' ? object() : array();
                depth--;
                return v;
            }
            if (c == '"')
                return string();
            if (s.startsWith("true", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("false", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (s.startsWith("null", i)) {
                i += 4;
                return null;
            }
            return number();
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            expect('{');
            ws();
            if (i < s.length() && s.charAt(i) == '}') {
                i++;
                return m;
            }
            for (;;) {
                ws();
                String k = string();
                ws();
                expect(':');
                ws();
                m.put(k, value());
                ws();
                if (i < s.length() && s.charAt(i) == ',') {
                    i++;
                    continue;
                }
                expect('}');
                return m;
            }
        }

        private List<Object> array() {
            List<Object> a = new ArrayList<>();
            expect('[');
            ws();
            if (i < s.length() && s.charAt(i) == ']') {
                i++;
                return a;
            }
            for (;;) {
                ws();
                a.add(value());
                ws();
                if (i < s.length() && s.charAt(i) == ',') {
                    i++;
                    continue;
                }
                expect(']');
                return a;
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            for (;;) {
                if (i >= s.length())
                    throw bad("unterminated string");
                char c = s.charAt(i++);
                if (c == '"')
                    return b.toString();
                if (c < 0x20)
                    throw bad("control character in a string");
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (i >= s.length())
                    throw bad("unterminated string");
                char e = s.charAt(i++);
                switch (e) {
                case '"': case '\\': case '/': b.append(e); break;
                case 'b': b.append('\b'); break;
                case 'f': b.append('\f'); break;
                case 'n': b.append('\n'); break;
                case 'r': b.append('\r'); break;
                case 't': b.append('\t'); break;
                case 'u':
                    if (i + 4 > s.length())
                        throw bad("short \\u escape");
                    try {
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    } catch (NumberFormatException x) {
                        throw bad("bad \\u escape");
                    }
                    i += 4;
                    break;
                default:
                    throw bad("bad escape");
                }
            }
        }

        private Object number() {
            int start = i;
            boolean integer = true;
            if (i < s.length() && s.charAt(i) == '-')
                i++;
            int digits = i;
            while (i < s.length() && isDigit(s.charAt(i)))
                i++;
            if (i == digits)
                throw bad("unexpected character");
            if (i < s.length() && s.charAt(i) == '.') {
                integer = false;
                i++;
                while (i < s.length() && isDigit(s.charAt(i)))
                    i++;
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                integer = false;
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-'))
                    i++;
                while (i < s.length() && isDigit(s.charAt(i)))
                    i++;
            }
            String t = s.substring(start, i);
            try {
                if (integer) {
                    try {
                        return Long.parseLong(t);
                    } catch (NumberFormatException big) {
                        return Double.parseDouble(t);
                    }
                }
                return Double.parseDouble(t);
            } catch (NumberFormatException x) {
                throw bad("bad number");
            }
        }
    }

    /* Append @v (a JSON model value, a boxed primitive, a primitive array, a Remote) as JSON. */
    static void write(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Boolean || v instanceof Long || v instanceof Integer) {
            b.append(v);
        } else if (v instanceof Double) {
            double d = (Double) v;
            if (Double.isNaN(d))
                b.append("{\"$float\":\"nan\"}");
            else if (Double.isInfinite(d))
                b.append(d > 0 ? "{\"$float\":\"inf\"}" : "{\"$float\":\"-inf\"}");
            else
                b.append(d);
        } else if (v instanceof Character) {
            quote(b, String.valueOf(v));
        } else if (v instanceof String) {
            quote(b, (String) v);
        } else if (v instanceof Remote) {
            b.append("{\"$ref\":").append(((Remote) v).$ref).append('}');
        } else if (v instanceof Map) {
            b.append('{');
            String sep = "";
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                b.append(sep);
                quote(b, String.valueOf(e.getKey()));
                b.append(':');
                write(b, e.getValue());
                sep = ",";
            }
            b.append('}');
        } else if (v instanceof List) {
            writeAll(b, (List<?>) v);
        } else if (v instanceof int[]) {
            List<Object> l = new ArrayList<>();
            for (int x : (int[]) v)
                l.add(x);
            writeAll(b, l);
        } else if (v instanceof long[]) {
            List<Object> l = new ArrayList<>();
            for (long x : (long[]) v)
                l.add(x);
            writeAll(b, l);
        } else if (v instanceof double[]) {
            List<Object> l = new ArrayList<>();
            for (double x : (double[]) v)
                l.add(x);
            writeAll(b, l);
        } else if (v instanceof boolean[]) {
            List<Object> l = new ArrayList<>();
            for (boolean x : (boolean[]) v)
                l.add(x);
            writeAll(b, l);
        } else if (v instanceof Object[]) {
            writeAll(b, List.of((Object[]) v));
        } else {
            throw new IllegalArgumentException("cannot send a " + v.getClass().getName());
        }
    }

    private static void writeAll(StringBuilder b, List<?> l) {
        b.append('[');
        for (int k = 0; k < l.size(); k++) {
            if (k > 0)
                b.append(',');
            write(b, l.get(k));
        }
        b.append(']');
    }

    /* @s as a JSON string; a lone surrogate (not valid UTF-8 or JSON text) becomes U+FFFD. */
    static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else if (Character.isHighSurrogate(c) && k + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(k + 1))) {
                b.append(c).append(s.charAt(++k));
            } else if (Character.isSurrogate(c)) {
                b.append('\ufffd');
            } else {
                b.append(c);
            }
        }
        b.append('"');
    }

    static String toJson(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    /*** The channel: fd 3 in, fd 4 out ***/

    private static BufferedReader in;
    private static OutputStream out;

    /* Fds 3 and 4 are used only when they are the pipes runbox passed: were one missing, the
     * JVM may hold one of its own files there (its lib/modules), which must never be written.
     * The fd itself goes into a FileDescriptor (java.io's field: the run command has
     * --add-opens java.base/java.io=ALL-UNNAMED); reopening /proc/self/fd/N, the fallback, is
     * refused in the sandbox (the pipe belongs to runbox's uid). */
    private static void open() throws IOException {
        if (out != null)
            return;
        checkPipe(3);
        checkPipe(4);
        FileDescriptor i = descriptor(3), o = descriptor(4);
        in = new BufferedReader(new InputStreamReader(
                i != null ? new FileInputStream(i) : new FileInputStream("/proc/self/fd/3"),
                StandardCharsets.UTF_8));
        out = o != null ? new FileOutputStream(o) : new FileOutputStream("/proc/self/fd/4", true);
    }

    private static void checkPipe(int fd) throws IOException {
        String target;
        try {
            target = Files.readSymbolicLink(Paths.get("/proc/self/fd/" + fd)).toString();
        } catch (IOException | UnsupportedOperationException e) {
            throw new IOException("runbox: fd " + fd + " is not open (judge mode's channel)", e);
        }
        if (!target.startsWith("pipe:"))
            throw new IOException("runbox: fd " + fd + " is " + target + ", not judge mode's channel");
    }

    private static FileDescriptor descriptor(int fd) {
        try {
            FileDescriptor d = new FileDescriptor();
            Field f = FileDescriptor.class.getDeclaredField("fd");
            f.setAccessible(true);
            f.setInt(d, fd);
            return d;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // java.io not opened to us
        }
    }

    private static void send(String line) throws IOException {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /*** Judge side ***/

    /** A test failure that is not the student's exception: a timeout, a crash, a broken reply. */
    public static final class Failure extends AssertionError {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    /** An exception thrown by the student's code that the judge side has no class for. */
    public static final class RemoteException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String type;

        RemoteException(String type, String message) {
            super(type + ": " + message);
            this.type = type;
        }

        /** The student's exception's class name. */
        public String getType() {
            return type;
        }
    }

    /** An object of a declared class, living in the student's program as reference $ref. */
    public abstract static class Remote {
        protected final long $ref;

        protected Remote(long ref) {
            this.$ref = ref;
        }

        /* Without a declared equals: the same object of the student's program. */
        @Override
        public boolean equals(Object o) {
            return o != null && o.getClass() == getClass() && ((Remote) o).$ref == $ref;
        }

        @Override
        public int hashCode() {
            return Long.hashCode($ref);
        }

        @Override
        public String toString() {
            return getClass().getSimpleName() + " #" + $ref + " (an object of the student's program)";
        }
    }

    /** Marks the generated classes' constructor from a reference. */
    public static final class Tag {
        private Tag() {
        }
    }

    public static final Tag TAG = new Tag();

    private static String lastTest;
    private static boolean planSent;

    private static synchronized Object request(Map<String, Object> req) {
        String line = toJson(req), reply;
        try {
            open();
            String plan = System.getProperty("runbox.plan");
            if (plan != null && !planSent) {
                send("!plan " + plan);
                planSent = true;
            }
            String test = System.getProperty("runbox.test");
            if (test != null && !test.equals(lastTest)) {
                send("!test " + test.replace('\n', ' ').replace('\r', ' '));
                lastTest = test;
            }
            send(line);
            reply = in.readLine();
        } catch (IOException e) {
            throw new Failure("runbox: the channel to the student's program failed: " + e);
        }
        if (reply == null)
            throw new Failure("runbox: the channel to the student's program was closed");
        Object r;
        try {
            r = Parser.parse(reply);
        } catch (IllegalArgumentException e) {
            throw new Failure("the student's program sent a bad reply: " + e.getMessage());
        }
        if (!(r instanceof Map))
            throw new Failure("the student's program sent a bad reply");
        Map<?, ?> m = (Map<?, ?>) r;
        if (m.containsKey("ok"))
            return m.get("ok");
        if (m.get("err") instanceof Map)
            throw remoteError((Map<?, ?>) m.get("err"));
        if (m.containsKey("timeout"))
            throw new Failure("timed out after " + number(m.get("timeout")) + " s");
        if (m.containsKey("crash"))
            throw new Failure("the student's program crashed: " + m.get("crash"));
        throw new Failure("the student's program sent a bad reply");
    }

    private static String number(Object v) {
        if (v instanceof Double && (Double) v == Math.rint((Double) v) && !Double.isInfinite((Double) v))
            return String.valueOf(((Double) v).longValue());
        return String.valueOf(v);
    }

    /* The student's exception, as the JDK's own class when it is a RuntimeException of java.*,
     * else a RemoteException. No class outside java.* is ever loaded by name. */
    private static RuntimeException remoteError(Map<?, ?> e) {
        String type = e.get("type") instanceof String ? (String) e.get("type") : "Exception";
        String msg = e.get("message") instanceof String ? (String) e.get("message") : "";
        if (type.startsWith("java.")) {
            try {
                Class<?> c = Class.forName(type, false, ClassLoader.getPlatformClassLoader());
                if (RuntimeException.class.isAssignableFrom(c))
                    return (RuntimeException) c.getConstructor(String.class).newInstance(msg);
            } catch (ReflectiveOperationException | LinkageError | SecurityException x) {
                // no such class or constructor: a RemoteException then
            }
        }
        return new RemoteException(type, msg);
    }

    /** Construct an object of class @cls in the student's program; its reference. */
    public static long construct(String cls, Object[] args) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", "new");
        m.put("cls", cls);
        m.put("args", java.util.Arrays.asList(args));
        Long r = asRef(request(m));
        if (r == null)
            throw new Failure("the student's program answered a constructor with null");
        return r;
    }

    /** Call the static method @fn of the student's class @mod. */
    public static Object call(String mod, String fn, Object[] args) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", "call");
        m.put("mod", mod);
        m.put("fn", fn);
        m.put("args", java.util.Arrays.asList(args));
        return request(m);
    }

    /** Call the method @fn of the student's object @self. */
    public static Object callMethod(Remote self, String fn, Object[] args) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", "call");
        m.put("self", self);
        m.put("fn", fn);
        m.put("args", java.util.Arrays.asList(args));
        return request(m);
    }

    private static Failure badValue(String want, Object v) {
        String got = v == null ? "null" : toJson(v);
        if (got.length() > 200)
            got = got.substring(0, 200) + "...";
        return new Failure("the student's program answered " + got + " where " + want + " was expected");
    }

    public static int asInt(Object v) {
        if (v instanceof Long && (Long) v == (int) (long) (Long) v)
            return (int) (long) (Long) v;
        throw badValue("an int", v);
    }

    public static long asLong(Object v) {
        if (v instanceof Long)
            return (Long) v;
        throw badValue("a long", v);
    }

    public static double asDouble(Object v) {
        if (v instanceof Long)
            return (Long) v;
        if (v instanceof Double)
            return (Double) v;
        if (v instanceof Map && ((Map<?, ?>) v).size() == 1) {
            Object f = ((Map<?, ?>) v).get("$float");
            if ("nan".equals(f))
                return Double.NaN;
            if ("inf".equals(f))
                return Double.POSITIVE_INFINITY;
            if ("-inf".equals(f))
                return Double.NEGATIVE_INFINITY;
        }
        throw badValue("a double", v);
    }

    public static boolean asBoolean(Object v) {
        if (v instanceof Boolean)
            return (Boolean) v;
        throw badValue("a boolean", v);
    }

    public static char asChar(Object v) {
        if (v instanceof String && ((String) v).length() == 1)
            return ((String) v).charAt(0);
        throw badValue("a char", v);
    }

    public static String asString(Object v) {
        if (v == null || v instanceof String)
            return (String) v;
        throw badValue("a String", v);
    }

    private static List<?> asList(Object v, String want) {
        if (v instanceof List)
            return (List<?>) v;
        throw badValue(want, v);
    }

    public static int[] asIntArray(Object v) {
        if (v == null)
            return null;
        List<?> l = asList(v, "an int[]");
        int[] a = new int[l.size()];
        for (int k = 0; k < a.length; k++)
            a[k] = asInt(l.get(k));
        return a;
    }

    public static long[] asLongArray(Object v) {
        if (v == null)
            return null;
        List<?> l = asList(v, "a long[]");
        long[] a = new long[l.size()];
        for (int k = 0; k < a.length; k++)
            a[k] = asLong(l.get(k));
        return a;
    }

    public static double[] asDoubleArray(Object v) {
        if (v == null)
            return null;
        List<?> l = asList(v, "a double[]");
        double[] a = new double[l.size()];
        for (int k = 0; k < a.length; k++)
            a[k] = asDouble(l.get(k));
        return a;
    }

    public static boolean[] asBooleanArray(Object v) {
        if (v == null)
            return null;
        List<?> l = asList(v, "a boolean[]");
        boolean[] a = new boolean[l.size()];
        for (int k = 0; k < a.length; k++)
            a[k] = asBoolean(l.get(k));
        return a;
    }

    public static String[] asStringArray(Object v) {
        if (v == null)
            return null;
        List<?> l = asList(v, "a String[]");
        String[] a = new String[l.size()];
        for (int k = 0; k < a.length; k++)
            a[k] = asString(l.get(k));
        return a;
    }

    /** A {"$ref": N} reply's N, or null for null. */
    public static Long asRef(Object v) {
        if (v == null)
            return null;
        if (v instanceof Map && ((Map<?, ?>) v).size() == 1 && ((Map<?, ?>) v).get("$ref") instanceof Long)
            return (Long) ((Map<?, ?>) v).get("$ref");
        throw badValue("an object reference", v);
    }

    /*** Student side ***/

    /* One declared function, constructor or method: its parameter and return types ("int",
     * "string[]", "@Clock", ...). */
    private static final class Sig {
        final String[] params;
        final String ret;
        Executable resolved;

        Sig(String params, String ret) {
            this.params = params.equals("-") ? new String[0] : params.split(",");
            this.ret = ret;
        }
    }

    private static final Map<String, Sig> sigs = new HashMap<>(); // "F fn/argc", "C cls/argc", "M cls.fn/argc"
    private static final List<Object> objects = new ArrayList<>();
    private static final List<String> objectClass = new ArrayList<>();
    private static final IdentityHashMap<Object, Long> refs = new IdentityHashMap<>();

    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final String type;

        Refusal(String type, String message) {
            super(message);
            this.type = type;
        }
    }

    /**
     * The student server's main loop. @spec: one line per declaration, "F fn PARAMS RET",
     * "C Class PARAMS", "M Class method PARAMS RET", "L Class" (a class to load before ready);
     * PARAMS is the types joined by ',' or '-' for none.
     */
    public static void serve(String[] spec) throws IOException {
        List<String> preload = new ArrayList<>();
        for (String line : spec) {
            String[] w = line.split(" ");
            switch (w[0]) {
            case "F": sigs.put("F " + w[1] + "/" + count(w[2]), new Sig(w[2], w[3])); break;
            case "C": sigs.put("C " + w[1] + "/" + count(w[2]), new Sig(w[2], "@" + w[1])); break;
            case "M": sigs.put("M " + w[1] + "." + w[2] + "/" + count(w[3]), new Sig(w[3], w[4])); break;
            case "L": preload.add(w[1]); break;
            default: throw new IllegalArgumentException("bad spec line " + line);
            }
        }
        for (String c : preload) {
            try {
                Class.forName(c, false, RunboxRpc.class.getClassLoader()); // loaded, not initialised
            } catch (Throwable t) {
                // each request that needs it answers why
            }
        }
        open();
        send("{\"ready\":true}");
        for (String line; (line = in.readLine()) != null;) {
            String reply;
            try {
                reply = "{\"ok\":" + toJson(handle(Parser.parse(line))) + "}";
            } catch (Refusal r) {
                reply = err(r.type, r.getMessage(), null);
            } catch (InvocationTargetException e) {
                Throwable t = e.getCause() != null ? e.getCause() : e;
                reply = err(t.getClass().getName(), t.getMessage(), t);
            } catch (Throwable t) {
                reply = err(t.getClass().getName(), t.getMessage(), t);
            }
            send(reply);
        }
    }

    private static int count(String params) {
        return params.equals("-") ? 0 : params.split(",").length;
    }

    private static String err(String type, String message, Throwable t) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("type", type);
        e.put("message", message == null ? "" : message);
        if (t != null) {
            StringWriter w = new StringWriter();
            t.printStackTrace(new PrintWriter(w));
            String s = w.toString();
            e.put("trace", s.length() > 16384 ? s.substring(0, 16384) : s);
        }
        return "{\"err\":" + toJson(e) + "}";
    }

    private static Object handle(Object r) throws Exception {
        if (!(r instanceof Map))
            throw new Refusal("runbox.BadRequest", "a request must be an object");
        Map<?, ?> m = (Map<?, ?>) r;
        Object op = m.get("op"), a = m.get("args");
        List<?> args = a instanceof List ? (List<?>) a : List.of();
        if ("new".equals(op) && m.get("cls") instanceof String) {
            String cls = (String) m.get("cls");
            Sig sig = sigs.get("C " + cls + "/" + args.size());
            if (sig == null)
                throw new Refusal("runbox.BadRequest", "no constructor " + cls + " with " + args.size() + " arguments is declared");
            Class<?> c = studentClass(cls);
            if (sig.resolved == null)
                sig.resolved = find(c.getDeclaredConstructors(), "<init>", sig, c.getName() + "'s constructor " + cls + "(" + String.join(", ", sig.params) + ")");
            Constructor<?> k = (Constructor<?>) sig.resolved;
            k.setAccessible(true);
            return result(sig.ret, k.newInstance(convertAll(sig, args)));
        }
        if (!"call".equals(op) || !(m.get("fn") instanceof String))
            throw new Refusal("runbox.BadRequest", "unknown request");
        String fn = (String) m.get("fn");
        if (m.containsKey("self")) {
            long n = ref(m.get("self"));
            Object self = objects.get((int) n);
            String cls = objectClass.get((int) n);
            Sig sig = sigs.get("M " + cls + "." + fn + "/" + args.size());
            if (sig == null)
                throw new Refusal("runbox.BadRequest", "no method " + cls + "." + fn + " with " + args.size() + " arguments is declared");
            if (sig.resolved == null)
                sig.resolved = findMethod(self.getClass(), fn, sig, false);
            return result(sig.ret, ((Method) sig.resolved).invoke(self, convertAll(sig, args)));
        }
        if (!(m.get("mod") instanceof String))
            throw new Refusal("runbox.BadRequest", "a call needs self or mod");
        Sig sig = sigs.get("F " + fn + "/" + args.size());
        if (sig == null)
            throw new Refusal("runbox.BadRequest", "no function " + fn + " with " + args.size() + " arguments is declared");
        Class<?> c = studentClass((String) m.get("mod"));
        Method k = findMethod(c, fn, sig, true); // not cached: several classes may be asked
        return result(sig.ret, k.invoke(null, convertAll(sig, args)));
    }

    private static Class<?> studentClass(String name) throws Refusal {
        try {
            return Class.forName(name, true, RunboxRpc.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new Refusal("java.lang.ClassNotFoundException", "the student's code has no class " + name);
        }
    }

    private static Method findMethod(Class<?> c, String fn, Sig sig, boolean isStatic) throws Refusal {
        String what = (isStatic ? "static method " : "method ") + c.getName() + "." + fn + "(" + String.join(", ", sig.params).replace("@", "") + ")";
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            Method found = (Method) findOrNull(k.getDeclaredMethods(), fn, sig);
            if (found != null) {
                if (Modifier.isStatic(found.getModifiers()) != isStatic)
                    throw new Refusal("java.lang.NoSuchMethodException", "the " + what + " must " + (isStatic ? "" : "not ") + "be static");
                found.setAccessible(true);
                return found;
            }
        }
        for (Method found : c.getMethods()) // default methods of interfaces
            if (found.getName().equals(fn) && matches(found, sig, true) && Modifier.isStatic(found.getModifiers()) == isStatic)
                return found;
        throw new Refusal("java.lang.NoSuchMethodException", "the student's code has no " + what);
    }

    private static Executable find(Executable[] all, String name, Sig sig, String what) throws Refusal {
        Executable e = findOrNull(all, name, sig);
        if (e == null)
            throw new Refusal("java.lang.NoSuchMethodException", "the student's code has no " + what.replace("@", ""));
        return e;
    }

    /* Exactly the declared types first, else parameters the declared types can be given to. */
    private static Executable findOrNull(Executable[] all, String name, Sig sig) {
        for (int pass = 0; pass < 2; pass++)
            for (Executable e : all)
                if ((name.equals("<init>") || e.getName().equals(name)) && !e.isSynthetic() && matches(e, sig, pass == 1))
                    return e;
        return null;
    }

    private static boolean matches(Executable e, Sig sig, boolean loose) {
        Class<?>[] p = e.getParameterTypes();
        if (p.length != sig.params.length)
            return false;
        for (int k = 0; k < p.length; k++) {
            Class<?> want = javaType(sig.params[k]);
            if (want == null ? !p[k].getName().equals(sig.params[k].substring(1)) && !(loose && p[k] == Object.class)
                    : !(p[k] == want || (loose && !want.isPrimitive() && p[k].isAssignableFrom(want))))
                return false;
        }
        return true;
    }

    /* The Java class of a declared type; null for a declared class ("@Clock"). */
    private static Class<?> javaType(String t) {
        switch (t) {
        case "bool": return boolean.class;
        case "int": return int.class;
        case "long": return long.class;
        case "double": return double.class;
        case "char": return char.class;
        case "string": return String.class;
        case "bool[]": return boolean[].class;
        case "int[]": return int[].class;
        case "long[]": return long[].class;
        case "double[]": return double[].class;
        case "string[]": return String[].class;
        default: return null;
        }
    }

    private static long ref(Object v) throws Refusal {
        Object n = v instanceof Map ? ((Map<?, ?>) v).get("$ref") : null;
        if (!(n instanceof Long) || (Long) n < 0 || (Long) n >= objects.size())
            throw new Refusal("runbox.BadRequest", "no such object (was the student's program restarted?)");
        return (Long) n;
    }

    private static Object[] convertAll(Sig sig, List<?> args) throws Refusal {
        Object[] a = new Object[args.size()];
        for (int k = 0; k < a.length; k++)
            a[k] = convert(sig.params[k], args.get(k));
        return a;
    }

    private static Object convert(String t, Object v) throws Refusal {
        try {
            switch (t) {
            case "bool": return asBoolean(v);
            case "int": return asInt(v);
            case "long": return asLong(v);
            case "double": return asDouble(v);
            case "char": return asChar(v);
            case "string": return asString(v);
            case "bool[]": return asBooleanArray(v);
            case "int[]": return asIntArray(v);
            case "long[]": return asLongArray(v);
            case "double[]": return asDoubleArray(v);
            case "string[]": return asStringArray(v);
            default:
                return v == null ? null : objects.get((int) ref(v));
            }
        } catch (Failure f) {
            throw new Refusal("runbox.BadRequest", "bad argument: " + f.getMessage());
        }
    }

    /* The value of a reply: a declared class's object is kept here and sent as a reference. */
    private static Object result(String t, Object v) {
        if (v == null || !t.startsWith("@"))
            return t.equals("void") ? null : v;
        Long n = refs.get(v);
        if (n == null) {
            n = (long) objects.size();
            objects.add(v);
            objectClass.add(t.substring(1));
            refs.put(v, n);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("$ref", n);
        return m;
    }
}
