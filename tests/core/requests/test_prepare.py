"""prepare: text lines, CSV columns and files become valid request files; problems as FILE:LINE."""

from __future__ import annotations

import io
import re

import orjson
import pytest

from batchctl.cli.flags import FLAGS
from batchctl.core.errors import ExitCode, InputError, UsageError
from batchctl.core.events import Data, gather
from batchctl.core.requests.prepare import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, PrepareSpec, prepare
from batchctl.core.requests.scan import scan_file
from tests.helpers import invoke

ID_RULE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def run(spec: PrepareSpec, stdin: bytes | None = None) -> tuple[list[dict], object]:
    events, result = gather(prepare(spec, stdin=io.BytesIO(stdin) if stdin is not None else None))
    data = b"".join(e.data for e in events if isinstance(e, Data))
    assert data.endswith(b"\n") or not data
    return [orjson.loads(line) for line in data.split(b"\n")[:-1]], result


def texts(reqs: list[dict]) -> list[str]:
    return [r["params"]["messages"][0]["content"] for r in reqs]


def ids(reqs: list[dict]) -> list[str]:
    return [r["custom_id"] for r in reqs]


def test_text_lines_become_requests_named_after_their_line(tmp_path):
    src = tmp_path / "p.txt"
    src.write_bytes(b"\xef\xbb\xbfWhat is 2+2?\r\n\n   \n  Name a colour.  \nbye")
    reqs, result = run(PrepareSpec(source=str(src)))
    assert ids(reqs) == ["line-1", "line-4", "line-5"]
    assert texts(reqs) == ["What is 2+2?", "Name a colour.", "bye"]
    assert reqs[0]["params"] == {
        "model": DEFAULT_MODEL,
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    }
    assert list(reqs[0]) == ["custom_id", "params"]  # the native form submit copies verbatim
    assert result.requests == 3  # lines 2 and 3 (blank) made no request


def test_options_shape_every_request(tmp_path):
    src = tmp_path / "p.txt"
    src.write_text("one\ntwo\n")
    spec = PrepareSpec(
        source=str(src), model="m-1", max_tokens=7, system="Be brief.", id_prefix="q_",
        template="Answer: {text} {unknown}",
    )
    reqs, _ = run(spec)
    assert ids(reqs) == ["q_1", "q_2"]
    assert reqs[1]["params"] == {
        "model": "m-1", "max_tokens": 7, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Answer: two {unknown}"}],
    }


def test_stdin_is_read_as_a_stream():
    reqs, _ = run(PrepareSpec(source="-"), stdin=b"a\nb\n")
    assert texts(reqs) == ["a", "b"]


def test_problems_name_file_and_line_and_nothing_counts_as_done(tmp_path):
    src = tmp_path / "p.txt"
    src.write_bytes(b"fine\nbad \xff byte\nfine too\n\xfe\n")
    with pytest.raises(InputError) as info:
        run(PrepareSpec(source=str(src)))
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert info.value.problems == [
        f"{src}:2: bytes that are not UTF-8 at column 5",
        f"{src}:4: bytes that are not UTF-8 at column 1",
    ]


@pytest.mark.parametrize("content", [b"", b"\n  \n\r\n"])
def test_empty_input_is_invalid(tmp_path, content):
    src = tmp_path / "p.txt"
    src.write_bytes(content)
    with pytest.raises(InputError, match="no prompts"):
        run(PrepareSpec(source=str(src)))


def test_csv_column_with_quotes_newlines_and_sanitised_unique_ids(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text(
        'ID,Question,Lang\n'
        'q 1,"multi\nline, with ""quotes""",en\n'
        '\n'
        'q 1,second,fr\n'
        'q_1,third,de\n'
        + "x" * 80 + ',long,en\n'
        'été,accents,fr\n',
        encoding="utf-8",
    )
    spec = PrepareSpec(source=str(src), column="question", id_column="ID",
                       template="[{Lang}] {text}")
    reqs, result = run(spec)
    assert texts(reqs) == [
        '[en] multi\nline, with "quotes"', "[fr] second", "[de] third", "[en] long", "[fr] accents",
    ]
    assert ids(reqs) == ["q_1", "q_1-2", "q_1-3", "x" * 64, "t"]
    assert all(ID_RULE.fullmatch(i) for i in ids(reqs))
    assert result.renamed == 4 and result.deduplicated == 2
    assert result.examples[0] == f"{src}:2: 'q 1' -> 'q_1'"


def test_csv_without_id_column_numbers_data_rows(tmp_path):
    src = tmp_path / "q.tsv"
    src.write_text("prompt\tother\nfirst\t1\nsecond, with comma\t2\n")
    reqs, _ = run(PrepareSpec(source=str(src), column="prompt"))
    assert ids(reqs) == ["row-1", "row-2"]
    assert texts(reqs) == ["first", "second, with comma"]


def test_csv_row_problems_name_the_line_where_the_row_starts(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text('id,prompt\na,"two\nlines"\nb,\n,orphan\nc\n')
    with pytest.raises(InputError) as info:
        run(PrepareSpec(source=str(src), column="prompt", id_column="id"))
    assert info.value.problems == [
        f"{src}:4: column 'prompt' is empty",
        f"{src}:5: column 'id' (the id) is empty",
        f"{src}:6: row has 1 field; the header has 2",
    ]


def test_csv_unknown_column_is_a_usage_error_listing_the_header(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("id,prompt\na,b\n")
    with pytest.raises(UsageError) as info:
        run(PrepareSpec(source=str(src), column="question"))
    assert info.value.exit_code == ExitCode.USAGE
    assert "'id', 'prompt'" in (info.value.hint or "")


def test_files_one_request_each_ids_from_relative_paths(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "a.txt").write_text("\nbeta\n\n")
    (root / "b c.md").write_text("gamma")
    (root / "sub" / "empty.txt").write_text("  \n")
    (root / "img.bin").write_bytes(b"ok\n\x89PNG\xff")
    spec = PrepareSpec(files_glob=str(root / "**" / "*.txt"), template="{name}: {text}")
    with pytest.raises(InputError) as info:
        run(spec)
    assert info.value.problems == [f"{root / 'sub' / 'empty.txt'}: the file is empty"]
    (root / "sub" / "empty.txt").unlink()
    reqs, _ = run(spec)
    assert ids(reqs) == ["a", "sub_a"]
    assert texts(reqs) == ["a.txt: alpha", "a.txt: beta"]
    reqs, result = run(PrepareSpec(files_glob=str(root / "[ab]*.*")))
    assert ids(reqs) == ["a", "b_c"]
    assert result.renamed == 1
    with pytest.raises(InputError) as info:
        run(PrepareSpec(files_glob=str(root / "*.bin")))
    assert info.value.problems == [f"{root / 'img.bin'}:2: bytes that are not UTF-8 (not a text file?)"]


def test_files_glob_that_matches_nothing(tmp_path):
    with pytest.raises(UsageError, match="no file matches"):
        run(PrepareSpec(files_glob=str(tmp_path / "*.nothing")))


@pytest.mark.parametrize(
    "spec, message",
    [
        (PrepareSpec(flags=FLAGS), "nothing to read"),
        (PrepareSpec(flags=FLAGS, source="x", files_glob="*"), "not both"),
        (PrepareSpec(flags=FLAGS, source="x", id_column="id"), "--id-column needs --column"),
        (PrepareSpec(flags=FLAGS, source="x", template="no placeholder"), "{text}"),
        (PrepareSpec(flags=FLAGS, source="x", id_prefix="bad prefix"), "--id-prefix"),
        # a length rule says the length found (issue 21, item 7)
        (PrepareSpec(flags=FLAGS, source="x", id_prefix="p" * 41),
         "must be at most 40 characters from a-z A-Z 0-9 _ -; it has 41"),
        (PrepareSpec(flags=FLAGS, source="x", max_tokens=0), "--max-tokens"),
    ],
)
def test_impossible_options_are_usage_errors(spec, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        run(spec)


def test_output_passes_submit_validation(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("id,prompt\n" + "".join(f"id {i % 7},prompt {i}\n" for i in range(50)))
    out = tmp_path / "requests.jsonl"
    with out.open("wb") as f:
        for event in prepare(PrepareSpec(source=str(src), column="prompt", id_column="id")):
            assert isinstance(event, Data)
            f.write(event.data)
    scan = scan_file(out)
    assert scan.request_count == 50


# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize("tty", [False, True])
def test_cli_writes_requests_to_stdout_and_the_summary_to_stderr(tmp_path, tty):
    src = tmp_path / "p.txt"
    src.write_text("hello\nworld\n")
    result = invoke(["prepare", str(src), "--max-tokens", "50", "-m", "claude-x"], tty=tty)
    assert result.exit_code == 0, result.stderr
    reqs = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert ids(reqs) == ["line-1", "line-2"]
    assert reqs[0]["params"]["max_tokens"] == 50 and reqs[0]["params"]["model"] == "claude-x"
    assert "prepared 2 requests" in result.stderr
    assert ("\x1b[" in result.stderr) is tty


def test_cli_reads_stdin_and_the_model_from_the_environment():
    result = invoke(["prepare", "-"], input="a\n\nb\n", env={"BATCHCTL_MODEL": "env-model"})
    assert result.exit_code == 0, result.stderr
    reqs = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["params"]["model"] for r in reqs] == ["env-model", "env-model"]
    assert ids(reqs) == ["line-1", "line-3"]


def test_cli_writes_nothing_to_stdout_when_a_line_is_bad(tmp_path):
    src = tmp_path / "p.txt"
    src.write_bytes(b"good\n" * 100 + b"bad \xff\n")
    result = invoke(["prepare", str(src)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"{src}:101: bytes that are not UTF-8" in result.stderr


def test_cli_unknown_column_exits_2(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("id,prompt\na,b\n")
    result = invoke(["prepare", str(src), "--column", "nope"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "no such column" in result.stderr and "'prompt'" in result.stderr


def test_cli_reports_changed_ids(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("id,prompt\na b,x\na b,y\n")
    result = invoke(["prepare", str(src), "--column", "prompt", "--id-column", "id"])
    assert result.exit_code == 0
    assert ids([orjson.loads(x) for x in result.stdout.splitlines()]) == ["a_b", "a_b-2"]
    assert "custom_ids changed: 2 made valid, 1 made unique" in result.stderr


def test_cli_missing_file_is_a_usage_error_as_with_submit(tmp_path):
    result = invoke(["prepare", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2 and "no such file" in result.stderr


# -- a CSV file without --column (issue 15, item 8) ---------------------------------------------
def test_cli_csv_with_several_columns_needs_column(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("id,question\n1,What is 2+2?\n")
    result = invoke(["prepare", str(src)])
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{src} is a CSV file with 2 columns" in result.stderr
    assert "--column" in result.stderr and "'id', 'question'" in result.stderr


@pytest.mark.parametrize("name, data", [
    ("q.csv", b"\xef\xbb\xbfquestion\r\nWhat is 2+2?\r\n\"Why, and how?\"\r\n"),
    ("q.TSV", b"question\nWhat is 2+2?\nWhy, and how?\n"),
])
def test_a_one_column_csv_without_column_skips_its_header(tmp_path, state_dir, name, data):
    src = tmp_path / name
    src.write_bytes(data)
    result = invoke(["prepare", str(src)])
    assert result.exit_code == 0, result.stderr
    reqs = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert texts(reqs) == ["What is 2+2?", "Why, and how?"]  # "question" is the header
    assert ids(reqs) == ["row-1", "row-2"]
    assert list((state_dir / "prepared").iterdir())  # remembered for results --join


def test_a_csv_header_spanning_lines_is_one_header(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text('"the\nquestion",id\nWhat?,1\n')
    result = invoke(["prepare", str(src)])
    assert result.exit_code == 2 and "2 columns" in result.stderr


def test_a_csv_without_a_header_row_is_refused(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("\nWhat is 2+2?\n")
    result = invoke(["prepare", str(src)])
    assert result.exit_code == 3 and result.stdout == ""
    assert "no header row" in result.stderr


def test_text_and_stdin_are_still_lines(tmp_path):
    src = tmp_path / "q.txt"
    src.write_text("id,question\n1,What?\n")
    reqs, _ = run(PrepareSpec(source=str(src)))
    assert texts(reqs) == ["id,question", "1,What?"]
    piped, _ = run(PrepareSpec(source="-"), stdin=b"question\nWhat?\n")
    assert texts(piped) == ["question", "What?"]
