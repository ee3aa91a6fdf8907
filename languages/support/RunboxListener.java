/*
 * runbox's JUnit Platform listener: the report. It writes runbox-jsonl events, one flushed line
 * each, to the fd RUNBOX_REPORT_FD names (a pipe runbox reads, opened as /dev/fd/N; see
 * src/job/inproc.c), else to $RUNBOX_DIR/progress.jsonl: "plan" with the tests JUnit discovered,
 * "start"/"end" per test (with what it printed), and "done" when the plan finished (a
 * System.exit() in the student's code leaves no "done": not a success). It also sets each test's
 * time budget (junit.jupiter.execution.timeout.default, SEPARATE_THREAD) from
 * RUNBOX_TEST_BUDGET_MS, else max(1 s, RUNBOX_WALL_MS / number of tests). Compiled with the tests (package runbox, so it cannot clash with the
 * student's classes) and registered through META-INF/services, which the test compile step
 * writes into /box; the console launcher finds it on its --class-path.
 *
 * In judge mode (docs/judge.md) it also names the running test in the system property
 * runbox.test, which RunboxRpc sends as "!test NAME" before the test's first call to the
 * student's program (the name is the report's: the legacy reporting name), and the number of
 * tests in runbox.plan ("!plan N").
 */
package runbox;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.Optional;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

public class RunboxListener implements TestExecutionListener {
    private static final int TEXT_MAX = 16 * 1024; // what runbox keeps of one string

    private Writer out;
    private int failed;
    private final java.util.Map<String, StringBuilder> output = new java.util.HashMap<>();

    @Override
    public void testPlanExecutionStarted(TestPlan plan) {
        System.setProperty("runbox.plan", String.valueOf(plan.countTestIdentifiers(TestIdentifier::isTest)));
        String dir = System.getenv("RUNBOX_DIR"), fd = System.getenv("RUNBOX_REPORT_FD");
        String path = fd != null && !fd.isEmpty() ? "/dev/fd/" + fd
                : Paths.get(dir == null || dir.isEmpty() ? "/box/.runbox" : dir, "progress.jsonl").toString();
        try {
            out = new OutputStreamWriter(new FileOutputStream(path, true), StandardCharsets.UTF_8);
        } catch (IOException e) {
            out = null; // no report then: every test is unreported
        }
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.ArrayDeque<TestIdentifier> todo = new java.util.ArrayDeque<>(plan.getRoots());
        while (!todo.isEmpty()) {
            TestIdentifier id = todo.poll();
            if (id.isTest())
                names.add(quote(id.getLegacyReportingName()));
            todo.addAll(plan.getChildren(id));
        }
        write("{\"event\": \"plan\", \"count\": " + names.size() + ", \"names\": ["
                + String.join(", ", names) + "]}");
        long budget = 0, wall = 0;
        try {
            budget = Long.parseLong(System.getenv().getOrDefault("RUNBOX_TEST_BUDGET_MS", "0"));
            wall = Long.parseLong(System.getenv().getOrDefault("RUNBOX_WALL_MS", "0"));
        } catch (NumberFormatException e) {
            // no budget
        }
        if (budget <= 0 && wall > 0 && !names.isEmpty())
            budget = Math.max(1000, wall / names.size());
        if (budget > 0 && System.getProperty("junit.jupiter.execution.timeout.default") == null) {
            System.setProperty("junit.jupiter.execution.timeout.default", budget + " ms");
            System.setProperty("junit.jupiter.execution.timeout.thread.mode.default", "SEPARATE_THREAD");
        }
    }

    @Override
    public void reportingEntryPublished(TestIdentifier id, org.junit.platform.engine.reporting.ReportEntry entry) {
        for (java.util.Map.Entry<String, String> e : entry.getKeyValuePairs().entrySet())
            if (e.getKey().equals("stdout") || e.getKey().equals("stderr"))
                output.computeIfAbsent(id.getUniqueId(), k -> new StringBuilder()).append(e.getValue());
    }

    @Override
    public void testPlanExecutionFinished(TestPlan plan) {
        write("{\"event\": \"done\", \"code\": " + (failed > 0 ? 1 : 0) + "}");
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    @Override
    public void executionStarted(TestIdentifier id) {
        if (id.isTest())
            System.setProperty("runbox.test", id.getLegacyReportingName());
        if (id.isTest())
            write("{\"event\": \"start\", \"name\": " + quote(id.getLegacyReportingName()) + "}");
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        if (!id.isTest())
            return;
        String name = quote(id.getLegacyReportingName());
        write("{\"event\": \"start\", \"name\": " + name + "}");
        write("{\"event\": \"end\", \"name\": " + name + ", \"status\": \"skip\", \"message\": "
                + quote(reason == null ? "" : reason) + "}");
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (!id.isTest())
            return;
        String status;
        Optional<Throwable> thrown = result.getThrowable();
        switch (result.getStatus()) {
        case SUCCESSFUL:
            status = "pass";
            break;
        case ABORTED:
            status = "skip";
            break;
        default:
            status = thrown.isPresent() && !(thrown.get() instanceof AssertionError) ? "error" : "fail";
            failed++;
        }
        StringBuilder b = new StringBuilder();
        b.append("{\"event\": \"end\", \"name\": ").append(quote(id.getLegacyReportingName()));
        b.append(", \"status\": \"").append(status).append('"');
        if (thrown.isPresent() && !status.equals("pass"))
            b.append(", \"message\": ").append(quote(String.valueOf(thrown.get()))); // Type: message
        StringBuilder printed = output.remove(id.getUniqueId());
        if (printed != null && printed.length() > 0)
            b.append(", \"output\": ").append(quote(printed.toString()));
        b.append('}');
        write(b.toString());
    }

    private void write(String line) {
        if (out == null)
            return;
        try {
            out.write(line);
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            out = null;
        }
    }

    /* @s as a JSON string, cut to TEXT_MAX characters; lone surrogates become U+FFFD. */
    static String quote(String s) {
        if (s.length() > TEXT_MAX)
            s = s.substring(0, TEXT_MAX) + "\n[... cut ...]";
        StringBuilder b = new StringBuilder(s.length() + 16).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                b.append("\\ufffd");
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
