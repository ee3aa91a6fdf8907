<?php
// runbox's test runner for PHPUnit (Debian's phpunit 9), run as
//   php /box/.runbox/runbox_phpunit.php TEST_FILE...
//
// Theory of operation. The report channel comes first: before PHPUnit loads any test file (and
// so any of the student's code, which the test files require), the fd RUNBOX_REPORT_FD names (a
// pipe runbox reads; src/job/inproc.c) is duplicated into a stream of this runner and fd 3 itself
// is closed (through FFI, which PHP's CLI allows), and the variable is removed; without the fd the
// events go to $RUNBOX_DIR/report.jsonl. What the tests print is captured by PHPUnit per test
// and reported as that test's "output", never written onto the channel, so fake result lines
// printed by the student are only text.
//
// The test files become one suite in a PHPUnit XML configuration written to /tmp (PHPUnit's own
// command line takes a single file); RunboxListener, a PHPUnit TestListener, writes runbox-jsonl:
// "plan" with every test's name (Class::method, with its data set) when the suite starts,
// "start" and "end" per test, and this runner writes "done" with PHPUnit's exit code when it
// returns. exit() in the student's code leaves no "done": runbox does not count that run as a
// success. Failures are "fail" (PHPUnit's comparison, with its diff), errors "error" (the
// exception and the test's part of its trace), skipped and incomplete tests "skip", warnings
// "fail".
//
// Each test has a time budget (RUNBOX_TEST_BUDGET_MS, else a share of RUNBOX_WALL_MS): SIGALRM
// (pcntl, asynchronous signals) throws RunboxTimeout, an Error (a `catch (Exception $e)` does
// not catch it), again every second until the test ends, so the test is reported "timed out
// after N s" and the others still run. markTestSkipped() stays a skip (exercism's PHP exercises
// do not skip tests).
//
// In-process mode is not the grade: the student's code runs in this process and could find the
// channel or patch this runner.

$runbox_channel = null;
$runbox_fd = getenv('RUNBOX_REPORT_FD');
if ($runbox_fd !== false && $runbox_fd !== '' && ctype_digit($runbox_fd)) {
    $runbox_channel = @fopen('php://fd/' . $runbox_fd, 'w');
    if ($runbox_channel && extension_loaded('ffi')) {
        try {
            FFI::cdef('int close(int fd);', 'libc.so.6')->close((int) $runbox_fd);
        } catch (Throwable $e) {
            // fd 3 stays open: the channel still works.
        }
    }
    putenv('RUNBOX_REPORT_FD');
    unset($_ENV['RUNBOX_REPORT_FD'], $_SERVER['RUNBOX_REPORT_FD']);
}
if (!$runbox_channel) {
    $dir = getenv('RUNBOX_DIR') ?: '/box/.runbox';
    $runbox_channel = @fopen($dir . '/report.jsonl', 'w') ?: null;
}

require '/usr/share/php/PHPUnit/Autoload.php';

use PHPUnit\Framework\AssertionFailedError;
use PHPUnit\Framework\ExceptionWrapper;
use PHPUnit\Framework\Test;
use PHPUnit\Framework\TestCase;
use PHPUnit\Framework\TestFailure;
use PHPUnit\Framework\TestListener;
use PHPUnit\Framework\TestSuite;
use PHPUnit\Framework\Warning;
use PHPUnit\Util\Filter;

final class RunboxTimeout extends Error
{
}

final class RunboxListener implements TestListener
{
    private const TEXT_MAX = 16384; // what runbox keeps of one string (REPORT_TEXT_MAX)

    /** @var resource|null */
    public static $channel;
    public static int $budgetMs = 0;
    public static int $failed = 0;
    private static bool $planned = false;
    private ?array $current = null;

    public static function emit(array $event): void
    {
        if (self::$channel) {
            $line = json_encode($event, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
            if ($line !== false) {
                fwrite(self::$channel, $line . "\n");
                fflush(self::$channel);
            }
        }
    }

    private static function cut(string $s): string
    {
        return strlen($s) > self::TEXT_MAX ? substr($s, 0, self::TEXT_MAX) . "\n[... cut ...]" : $s;
    }

    private static function name(Test $test): string
    {
        if ($test instanceof TestCase) {
            return get_class($test) . '::' . $test->getName(true);
        }
        return get_class($test);
    }

    private static function names(Test $test, array &$out): void
    {
        if ($test instanceof TestSuite) {
            foreach ($test->tests() as $t) {
                self::names($t, $out);
            }
        } else {
            $out[] = self::name($test);
        }
    }

    private function set(Test $test, string $status, string $message): void
    {
        // The first verdict of a test stands (an error after a failure, in tearDown, adds nothing).
        if ($this->current !== null && $this->current['status'] === 'pass') {
            $this->current['status'] = $status;
            $this->current['message'] = self::cut($message);
        }
    }

    private static function error(Throwable $t): string
    {
        $class = get_class($t);
        if ($t instanceof ExceptionWrapper) { // PHPUnit's stand-in for the thrown exception
            $class = $t->getClassName();
            $t = $t->getOriginalException() ?? $t;
        }
        if ($class === RunboxTimeout::class) {
            return $t->getMessage();
        }
        $s = $class . ': ' . $t->getMessage();
        $trace = trim(Filter::getFilteredStacktrace($t));
        return $trace === '' ? $s : $s . "\n" . $trace;
    }

    public function addError(Test $test, Throwable $t, float $time): void
    {
        $this->set($test, 'error', self::error($t));
    }

    public function addWarning(Test $test, Warning $e, float $time): void
    {
        $this->set($test, 'fail', 'warning: ' . $e->getMessage());
    }

    public function addFailure(Test $test, AssertionFailedError $e, float $time): void
    {
        $this->set($test, 'fail', trim(TestFailure::exceptionToString($e)));
    }

    public function addIncompleteTest(Test $test, Throwable $t, float $time): void
    {
        $this->set($test, 'skip', 'incomplete: ' . $t->getMessage());
    }

    public function addRiskyTest(Test $test, Throwable $t, float $time): void
    {
    }

    public function addSkippedTest(Test $test, Throwable $t, float $time): void
    {
        $this->set($test, 'skip', $t->getMessage());
    }

    public function startTestSuite(TestSuite $suite): void
    {
        if (self::$planned) {
            return;
        }
        self::$planned = true;
        $names = [];
        self::names($suite, $names);
        self::emit(['event' => 'plan', 'count' => count($names), 'names' => $names]);
        $wall = (int) getenv('RUNBOX_WALL_MS');
        if (self::$budgetMs <= 0 && $wall > 0 && count($names) > 0) {
            self::$budgetMs = max(1000, intdiv($wall, count($names)));
        }
    }

    public function endTestSuite(TestSuite $suite): void
    {
    }

    public function startTest(Test $test): void
    {
        $this->current = ['event' => 'end', 'name' => self::name($test), 'status' => 'pass'];
        self::emit(['event' => 'start', 'name' => $this->current['name']]);
        if (self::$budgetMs > 0 && function_exists('pcntl_alarm')) {
            $ms = self::$budgetMs;
            pcntl_signal(SIGALRM, function () use ($ms) {
                pcntl_alarm(1); // again, should the test swallow it
                throw new RunboxTimeout(sprintf('timed out after %g s', $ms / 1000));
            });
            pcntl_alarm((int) ceil($ms / 1000));
        }
    }

    public function endTest(Test $test, float $time): void
    {
        if (function_exists('pcntl_alarm')) {
            pcntl_alarm(0);
            pcntl_signal(SIGALRM, SIG_DFL);
        }
        if ($this->current === null) {
            return;
        }
        $event = $this->current;
        $this->current = null;
        if ($test instanceof TestCase && $test->hasOutput()) {
            $event['output'] = self::cut($test->getActualOutput());
        }
        if ($event['status'] === 'fail' || $event['status'] === 'error') {
            self::$failed++;
        }
        self::emit($event);
    }
}

RunboxListener::$channel = $runbox_channel;
RunboxListener::$budgetMs = (int) getenv('RUNBOX_TEST_BUDGET_MS');
if (function_exists('pcntl_async_signals')) {
    pcntl_async_signals(true);
}

$files = array_values(array_filter(array_slice($argv, 1), fn ($a) => substr($a, 0, 2) !== '--'));
// PHPUnit 10's #[DataProvider('name')] (exercism's PHP tests use it) means nothing to PHPUnit 9:
// such a file runs from a copy beside it (/box/.NAME.runbox.php, so __DIR__ and relative
// require_once stay right) where each becomes the docblock /** @dataProvider name */, on the
// same line.
$attr = '/#\[\s*(?:\\\\?PHPUnit\\\\Framework\\\\Attributes\\\\)?DataProvider\s*\(\s*[\'"]([A-Za-z_][A-Za-z0-9_]*)[\'"]\s*\)\s*\]/';
foreach ($files as $i => $f) {
    $src = @file_get_contents($f);
    if ($src === false || !preg_match($attr, $src)) {
        continue;
    }
    $copy = dirname(realpath($f) ?: $f) . '/.' . basename($f, '.php') . '.runbox.php';
    $new = preg_replace_callback($attr, fn ($m) => '/** @dataProvider ' . $m[1] . ' */', $src);
    if ($new !== null && @file_put_contents($copy, $new) !== false) {
        $files[$i] = $copy;
    }
}
$xml = new DOMDocument('1.0', 'UTF-8');
$root = $xml->appendChild($xml->createElement('phpunit'));
$root->setAttribute('colors', 'false');
$root->setAttribute('cacheResult', 'false');
$root->setAttribute('beStrictAboutOutputDuringTests', 'false');
$suites = $root->appendChild($xml->createElement('testsuites'));
$suite = $suites->appendChild($xml->createElement('testsuite'));
$suite->setAttribute('name', 'runbox');
foreach ($files as $f) {
    $suite->appendChild($xml->createElement('file'))->appendChild($xml->createTextNode(realpath($f) ?: $f));
}
$listeners = $root->appendChild($xml->createElement('listeners'));
$listeners->appendChild($xml->createElement('listener'))->setAttribute('class', 'RunboxListener');
$config = tempnam(sys_get_temp_dir(), 'runbox-phpunit-') . '.xml';
$xml->save($config);

$code = (new PHPUnit\TextUI\Command())->run(['phpunit', '--configuration', $config, '--do-not-cache-result'], false);
RunboxListener::emit(['event' => 'done', 'code' => $code]);
exit($code);
