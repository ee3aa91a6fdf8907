# runbox's ExUnit runner:
#   elixir -pz /box/.runbox/ebin /box/.runbox/runbox_exunit.exs TEST_FILE.exs... [--include-pending]
#
# Theory of operation. The student's modules are compiled beforehand (elixirc, the compile
# step) into /box/.runbox/ebin; this script opens the report channel first (the fd
# RUNBOX_REPORT_FD names, a pipe runbox reads; else $RUNBOX_DIR/report.jsonl), before any test
# file or student module is loaded, then starts ExUnit without its autorun, requires a
# test_helper.exs given among the test files (exercism's: ExUnit.start(), exclude: :pending,
# trace: true) and then every test file, and overrides what would spoil the report: the
# formatters (ours, then ExUnit's CLI one for people, on stdout), trace (which would make every
# test's timeout infinite), max_cases 1 (one test at a time, so the running one is known),
# seed 0 (the order written) and the per-test timeout (the time budget: RUNBOX_TEST_BUDGET_MS,
# else max(1 s, RUNBOX_WALL_MS / tests)). --include-pending (the framework's include_ignored)
# runs the tests a helper excludes, as exercism's runner does.
#
# Events, one flushed runbox-jsonl line each, on the channel:
#   {"event": "plan", "count": 3, "names": ["test no name given", ...]}
#   {"event": "start", "name": "test no name given"}
#   {"event": "end", "name": "test no name given", "status": "pass"|"fail"|"error"|"skip",
#    "message": "...", "output": "...", "test_code": "..."}
#   {"event": "done", "code": 0}
# A test's name is ExUnit's ("test NAME", "test DESCRIBE NAME"), with "Module: " before it when
# there are several test modules. A failed assertion is "fail"; an exception, a timeout or an
# exit is "error"; excluded and skipped tests are "skip". A test file that does not load becomes
# one errored test "loading FILE". "done" comes after ExUnit.run/0 returns, with its verdict:
# a run halted early (System.halt/1 in the student's code) has none, and runbox does not call
# it a success. What a test prints is reported with it. Exit status: 0 when every test
# passed, 1 otherwise.

defmodule RunboxExUnit do
  @moduledoc false
  @text_max 16384

  def open_channel do
    path =
      case System.get_env("RUNBOX_REPORT_FD") do
        nil -> Path.join(System.get_env("RUNBOX_DIR", "/box/.runbox"), "report.jsonl")
        fd -> "/proc/self/fd/" <> fd
      end

    # Not raw: the io server it starts takes writes from this process and the formatter's.
    case :file.open(String.to_charlist(path), [:write, :binary]) do
      {:ok, dev} -> :persistent_term.put({__MODULE__, :channel}, dev)
      _ -> :persistent_term.put({__MODULE__, :channel}, nil)
    end
  end

  def emit(fields) do
    case :persistent_term.get({__MODULE__, :channel}, nil) do
      nil ->
        :ok

      dev ->
        body =
          fields
          |> Enum.reject(fn {_k, v} -> v in [nil, ""] end)
          |> Enum.map(fn {k, v} -> [json(to_string(k)), ?:, json(v)] end)
          |> Enum.intersperse(?,)

        IO.binwrite(dev, [?{, body, ?}, ?\n])
    end
  end

  defp json(n) when is_integer(n), do: Integer.to_string(n)
  defp json(l) when is_list(l), do: [?[, Enum.intersperse(Enum.map(l, &json/1), ?,), ?]]
  defp json(s) when is_binary(s), do: [?", escape(clean(s)), ?"]

  # Valid UTF-8 (invalid bytes replaced), cut to what runbox keeps.
  defp clean(s) when byte_size(s) > @text_max do
    clean(binary_part(s, 0, @text_max)) <> "\n[... cut ...]"
  end

  defp clean(s) do
    if String.valid?(s), do: s, else: s |> String.chunk(:valid) |> Enum.map_join(&fix/1)
  end

  defp fix(chunk), do: if(String.valid?(chunk), do: chunk, else: "\uFFFD")

  defp escape(s) do
    for <<c <- s>>, into: "" do
      case c do
        ?" -> "\\\""
        ?\\ -> "\\\\"
        ?\n -> "\\n"
        ?\t -> "\\t"
        c when c < 0x20 -> "\\u00" <> Base.encode16(<<c>>)
        c -> <<c>>
      end
    end
  end

  def name(test) do
    base = to_string(test.name)

    if :persistent_term.get({__MODULE__, :prefix}, false),
      do: inspect(test.module) <> ": " <> base,
      else: base
  end

  # The test's source: from its `test` line to the `end` at the same indentation.
  def test_code(%{tags: %{file: file, line: line}}) when is_binary(file) and is_integer(line) do
    with {:ok, text} <- File.read(file) do
      lines = text |> String.split("\n") |> Enum.drop(line - 1)

      case lines do
        [first | rest] ->
          indent = String.duplicate(" ", byte_size(first) - byte_size(String.trim_leading(first)))
          {body, tail} = Enum.split_while(rest, &(String.trim_trailing(&1) != indent <> "end"))
          Enum.map_join([first | body] ++ Enum.take(tail, 1), "\n", fn line ->
            if String.starts_with?(line, indent),
              do: binary_part(line, byte_size(indent), byte_size(line) - byte_size(indent)),
              else: line
          end)

        [] ->
          nil
      end
    else
      _ -> nil
    end
  end

  def test_code(_), do: nil

  def budget_ms(count) do
    budget = env_int("RUNBOX_TEST_BUDGET_MS")
    wall = env_int("RUNBOX_WALL_MS")

    cond do
      budget > 0 -> budget
      wall > 0 and count > 0 -> max(1000, div(wall, count))
      true -> 60_000
    end
  end

  defp env_int(name) do
    case Integer.parse(System.get_env(name, "0")) do
      {n, ""} -> n
      _ -> 0
    end
  end

  # A test file compiled with a first `setup` of ours after each `use ExUnit.Case`: in the
  # test's own process, before its body, it waits until the formatter has written every event
  # so far (the test's "start", the previous test's "end"). ExUnit sends formatters their
  # events asynchronously; without this a test that halts the VM would take them along.
  def require_test_file(file) do
    file
    |> File.read!()
    |> Code.string_to_quoted!(file: file)
    |> Macro.postwalk(fn
      {:use, _, [{:__aliases__, _, [:ExUnit, :Case]} | _]} = use ->
        quote do
          unquote(use)
          setup context do
            RunboxExUnit.before_test(context)
          end
        end

      node ->
        node
    end)
    |> Code.compile_quoted(file)
  end

  # In the test's process, before its body: wait for the formatter (sync/0), then send what
  # the test prints (its group leader, which processes it starts inherit) to a StringIO of the
  # formatter's; an on_exit callback, which ExUnit runs before it reports the test, hands the
  # text over.
  def before_test(%{module: module, test: name}) do
    sync()

    try do
      {:ok, dev} = GenServer.call(RunboxExUnit.Formatter, :capture, :infinity)
      Process.group_leader(self(), dev)

      ExUnit.Callbacks.on_exit({__MODULE__, :output}, fn ->
        GenServer.call(RunboxExUnit.Formatter, {:output, {module, name}, dev}, :infinity)
      end)
    catch
      :exit, _ -> :ok
    end

    :ok
  end

  def before_test(_context), do: sync()

  def sync do
    try do
      GenServer.call(RunboxExUnit.Formatter, :sync, :infinity)
    catch
      :exit, _ -> :ok
    end

    :ok
  end

  # A test file that does not load: one errored test named after it.
  def load_error(file, kind, reason, stack) do
    name = "loading " <> Path.basename(file)
    message = Exception.format(kind, reason, stack)
    emit(event: "start", name: name)
    emit(event: "end", name: name, status: "error", message: message)
    IO.puts(:stderr, message)
  end
end

defmodule RunboxExUnit.Formatter do
  @moduledoc false
  use GenServer

  @impl true
  def init(_opts) do
    Process.register(self(), __MODULE__)
    {:ok, %{}}
  end

  @impl true
  def handle_call(:sync, _from, state), do: {:reply, :ok, state}

  def handle_call(:capture, _from, state), do: {:reply, StringIO.open(""), state}

  def handle_call({:output, key, dev}, _from, state) do
    {_input, output} = StringIO.contents(dev)
    StringIO.close(dev)
    {:reply, :ok, Map.put(state, key, output)}
  end

  @impl true
  def handle_cast({:test_started, test}, state) do
    RunboxExUnit.emit(event: "start", name: RunboxExUnit.name(test))
    {:noreply, state}
  end

  def handle_cast({:test_finished, test}, state) do
    {status, message} = outcome(test)
    {output, state} = Map.pop(state, {test.module, test.name})

    RunboxExUnit.emit(
      event: "end",
      name: RunboxExUnit.name(test),
      status: status,
      message: message,
      output: output,
      test_code: RunboxExUnit.test_code(test)
    )

    {:noreply, state}
  end

  def handle_cast(_event, state), do: {:noreply, state}

  defp outcome(%{state: nil}), do: {"pass", nil}
  defp outcome(%{state: {:excluded, why}}), do: {"skip", to_string(why)}
  defp outcome(%{state: {:skipped, why}}), do: {"skip", to_string(why)}

  defp outcome(%{state: {:invalid, _module}}),
    do: {"error", "did not run: the test module's setup_all failed"}

  defp outcome(%{state: {:failed, failures}} = test) do
    case Enum.find(failures, &timeout?/1) do
      {_, %{timeout: ms}, stack} ->
        # Not ExUnit's advice (@tag timeout, mix test --timeout): the budget is the run's.
        {"error",
         "timed out after #{seconds(ms)} s\n" <> Exception.format_stacktrace(stack)}

      nil ->
        status = if Enum.all?(failures, &assertion?/1), do: "fail", else: "error"
        {status, message(test, failures)}
    end
  end

  defp timeout?({:error, %ExUnit.TimeoutError{}, _}), do: true
  defp timeout?(_), do: false

  defp assertion?({:error, %ExUnit.AssertionError{}, _}), do: true
  defp assertion?({:error, %ExUnit.MultiError{errors: errors}, _}), do: Enum.all?(errors, &assertion?/1)
  defp assertion?(_), do: false

  defp seconds(ms) when rem(ms, 1000) == 0, do: div(ms, 1000)
  defp seconds(ms), do: ms / 1000

  # ExUnit's own failure text (code, left, right, stacktrace), without its "1) test ..." line.
  defp message(test, failures) do
    text =
      ExUnit.Formatter.format_test_failure(test, failures, 1, 80, fn
        :diff_enabled?, _ -> false
        _, msg -> msg
      end)

    case String.split(text, "\n", parts: 2) do
      [_header, rest] -> rest |> String.trim_trailing() |> dedent()
      [only] -> only
    end
  end

  defp dedent(text) do
    lines = String.split(text, "\n")

    indent =
      lines
      |> Enum.reject(&(String.trim(&1) == ""))
      |> Enum.map(&(byte_size(&1) - byte_size(String.trim_leading(&1, " "))))
      |> Enum.min(fn -> 0 end)

    Enum.map_join(lines, "\n", &binary_part(&1, min(indent, byte_size(&1)), byte_size(&1) - min(indent, byte_size(&1))))
  end
end

RunboxExUnit.open_channel()

{flags, files} = Enum.split_with(System.argv(), &String.starts_with?(&1, "--"))
{helpers, test_files} = Enum.split_with(files, &(Path.basename(&1) == "test_helper.exs"))

ExUnit.start(autorun: false)

loaded =
  for file <- helpers ++ test_files do
    try do
      {file, RunboxExUnit.require_test_file(file)}
    rescue
      e ->
        RunboxExUnit.load_error(file, :error, e, __STACKTRACE__)
        {file, :error}
    catch
      kind, reason ->
        RunboxExUnit.load_error(file, kind, reason, __STACKTRACE__)
        {file, :error}
    end
  end

modules =
  for {file, mods} <- loaded,
      file in test_files,
      is_list(mods),
      {mod, _} <- mods,
      function_exported?(mod, :__ex_unit__, 0),
      do: mod

:persistent_term.put({RunboxExUnit, :prefix}, length(modules) > 1)

names =
  for mod <- modules, test <- mod.__ex_unit__().tests, do: RunboxExUnit.name(test)

exclude = if "--include-pending" in flags, do: [], else: ExUnit.configuration()[:exclude] || []

ExUnit.configure(
  formatters: [RunboxExUnit.Formatter, ExUnit.CLIFormatter],
  autorun: false,
  trace: false,
  max_cases: 1,
  seed: 0,
  colors: [enabled: false],
  exclude: exclude,
  timeout: RunboxExUnit.budget_ms(length(names))
)

RunboxExUnit.emit(event: "plan", count: length(names), names: names)
%{failures: failures} = ExUnit.run()
code = if failures == 0 and Enum.all?(loaded, fn {_, m} -> m != :error end), do: 0, else: 1
RunboxExUnit.emit(event: "done", code: code)
System.halt(code)
