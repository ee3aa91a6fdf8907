# runbox's test runner for minitest, run as
#   ruby /box/.runbox/runbox_minitest.rb TEST_FILE... [--include-skipped]
#
# Theory of operation. The report channel comes first: before any test file (and so any of the
# student's code, which the test files require_relative) loads, the fd RUNBOX_REPORT_FD names (a
# pipe runbox reads; src/job/inproc.c) is moved to a high, close-on-exec fd and fd 3 is closed;
# without it the events go to $RUNBOX_DIR/report.jsonl. What the tests print goes to the run's
# stdout or into a test's "output", never onto the channel, so fake result lines printed by the
# student are only text.
#
# The test files are loaded with minitest/autorun's at_exit hook disarmed; then this runner, not
# Minitest.run, runs every test method of every Minitest::Runnable (Minitest::Test classes and
# Minitest::Spec describe blocks) in the order the methods are written, each through
# Minitest.run_one_method (minitest's own setup/teardown, assertions and result), and writes
# runbox-jsonl: "plan" (every test's name, Class#method) once the files are loaded, "start" and
# "end" per test, "done" last with minitest's verdict. exit/exit! in the student's code leaves no
# "done": runbox does not count such a run as a success.
#
# Each test has a time budget (RUNBOX_TEST_BUDGET_MS, else a share of RUNBOX_WALL_MS): a watchdog
# thread raises RunboxTimeout (an Exception, not a StandardError: `rescue => e` does not catch
# it) in the test's thread, again every 100 ms until the test ends, so the test is reported
# "timed out after N s" and the others still run. --include-skipped (the framework's
# "include_ignored", left out when a course says "ignored": "skip") makes `skip` a no-op, as
# exercism's runner does with the `skip` lines of its Ruby exercises.
#
# In-process mode is not the grade: the student's code runs in this process and could find the
# channel or patch this runner.
require "fcntl"
require "json"

channel = nil
if (fd = ENV["RUNBOX_REPORT_FD"]) && !fd.empty?
  begin
    orig = IO.for_fd(Integer(fd), autoclose: true)
    high = orig.fcntl(Fcntl::F_DUPFD, 100)
    orig.close
    channel = IO.for_fd(high, "w", autoclose: true)
    channel.close_on_exec = true
  rescue StandardError => e
    warn "runbox_minitest: no report channel: #{e}"
  end
  ENV.delete("RUNBOX_REPORT_FD")
end
if channel.nil?
  begin
    channel = File.open(File.join(ENV.fetch("RUNBOX_DIR", "/box/.runbox"), "report.jsonl"), "w")
  rescue SystemCallError => e
    warn "runbox_minitest: no report: #{e}"
  end
end
channel&.sync = true
RUNBOX_TEXT_MAX = 16 * 1024 # what runbox keeps of one string (REPORT_TEXT_MAX)

def runbox_cut(s)
  s = s.to_s.dup.force_encoding(Encoding::UTF_8).scrub("\uFFFD")
  s.bytesize > RUNBOX_TEXT_MAX ? s.byteslice(0, RUNBOX_TEXT_MAX).scrub("") + "\n[... cut ...]" : s
end

emit = lambda do |event|
  channel&.write(JSON.generate(event) + "\n")
rescue StandardError
  nil
end

include_skipped = !ARGV.delete("--include-skipped").nil?
files = ARGV.dup
ARGV.clear

require "minitest"
Minitest.class_variable_set(:@@installed_at_exit, true) # minitest/autorun: no at_exit run
require "minitest/test"
require "minitest/spec"
Minitest.seed = 0
if include_skipped
  module Minitest
    module Assertions
      def skip(_msg = nil, _bt = caller)
        nil
      end
    end
  end
end

class RunboxTimeout < Exception # rubocop:disable Lint/InheritException
end

# Taken before the student's code loads: a redefined Minitest.run_one_method is not the one used.
run_one = Minitest.method(:run_one_method)

load_errors = []
files.each do |file|
  require File.expand_path(file)
rescue SystemExit, NoMemoryError, SignalException
  raise
rescue Exception => e # rubocop:disable Lint/RescueException
  load_errors << ["loading #{File.basename(file)}", "#{e.class}: #{e.message}\n#{(e.backtrace || []).first(8).join("\n")}"]
end

# Every test, in the order written (by source line), each class in the order defined.
tests = []
Minitest::Runnable.runnables.each do |klass|
  methods = klass.methods_matching(/^test_/)
  methods = methods.sort_by do |m|
    loc = klass.instance_method(m).source_location
    loc ? [loc[0], loc[1]] : ["", 0]
  end
  methods.each { |m| tests << [klass, m, "#{klass.name || klass}##{m}"] }
end
names = load_errors.map(&:first) + tests.map(&:last)
emit.call(event: "plan", count: names.size, names: names)

budget_ms = ENV["RUNBOX_TEST_BUDGET_MS"].to_i
if budget_ms <= 0 && ENV["RUNBOX_WALL_MS"].to_i.positive? && !names.empty?
  budget_ms = [ENV["RUNBOX_WALL_MS"].to_i / names.size, 1000].max
end
skip_names = (ENV["RUNBOX_SKIP_TESTS"] || "").split("\n").reject(&:empty?)

failed = 0
load_errors.each do |name, message|
  emit.call(event: "start", name: name)
  emit.call(event: "end", name: name, status: "error", message: runbox_cut(message))
  puts "ERROR #{name}\n      #{message.lines.first}"
  failed += 1
end

real_stdout = $stdout
real_stderr = $stderr
main = Thread.current
tests.each do |klass, method, name|
  next if skip_names.include?(name)

  emit.call(event: "start", name: name)
  out = StringIO.new
  $stdout = out
  $stderr = out
  done = false
  watchdog = if budget_ms.positive?
               Thread.new do
                 sleep budget_ms / 1000.0
                 until done
                   main.raise(RunboxTimeout, "timed out after #{budget_ms / 1000.0} s")
                   sleep 0.1
                 end
               end
             end
  begin
    result = run_one.call(klass, method)
  ensure
    done = true
    watchdog&.kill
    watchdog&.join
    $stdout = real_stdout
    $stderr = real_stderr
  end
  event = { event: "end", name: name, status: "pass" }
  failure = result.failure
  if result.skipped?
    event[:status] = "skip"
    event[:message] = runbox_cut(failure.message)
  elsif failure.is_a?(Minitest::UnexpectedError)
    err = failure.error
    event[:status] = "error"
    event[:message] = if err.is_a?(RunboxTimeout)
                        err.message
                      else
                        runbox_cut("#{err.class}: #{err.message}\n" +
                                   Minitest.filter_backtrace(err.backtrace || []).first(8).join("\n"))
                      end
  elsif failure
    event[:status] = "fail"
    event[:message] = runbox_cut(failure.message)
  end
  event[:output] = runbox_cut(out.string) unless out.string.empty?
  emit.call(event)
  failed += 1 unless %w[pass skip].include?(event[:status])
  line = "#{event[:status].upcase.ljust(5)} #{name}"
  line += "\n      #{event[:message].lines.first(3).join('      ')}" if event[:message] && event[:status] != "pass"
  real_stdout.puts line
end
real_stdout.puts "\n#{tests.size + load_errors.size} tests, #{failed} did not pass"
emit.call(event: "done", code: failed.zero? ? 0 : 1)
channel&.close
exit(failed.zero? ? 0 : 1)
