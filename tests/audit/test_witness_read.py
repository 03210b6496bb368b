"""Reading the witness file: the whole-file fast path and the line by line path agree."""

from __future__ import annotations

from pathlib import Path

from hub.audit import witness as witness_mod

A, B, C = "a" * 64, "b" * 64, "c" * 64


def read(tmp_path: Path, content: str) -> witness_mod.WitnessState:
    w = witness_mod.Witness(tmp_path)
    w.witness_path.write_bytes(content.encode("ascii", errors="replace"))
    return w.read()


def test_well_formed_file(tmp_path: Path) -> None:
    st = read(tmp_path, f"1 {A}\n3 {C}\n2 {B}\n")
    assert st.heads == {1: A, 2: B, 3: C}
    assert st.lines == 3 and st.max_seq == 3
    assert not st.malformed and not st.conflicts


def test_empty_file(tmp_path: Path) -> None:
    st = read(tmp_path, "")
    assert st.heads == {} and st.lines == 0 and not st.malformed


def test_same_head_twice_is_no_conflict(tmp_path: Path) -> None:
    st = read(tmp_path, f"1 {A}\n2 {B}\n2 {B}\n")
    assert st.heads == {1: A, 2: B} and st.lines == 3
    assert not st.conflicts and not st.malformed


def test_two_hashes_for_one_seq_is_a_conflict(tmp_path: Path) -> None:
    st = read(tmp_path, f"1 {A}\n2 {B}\n2 {C}\n")
    assert st.conflicts == {2: (B, C)}
    assert st.heads == {1: A, 2: B}


def test_garbage_lines_are_reported_by_number(tmp_path: Path) -> None:
    st = read(tmp_path, f"1 {A}\nnot a line\n2 {B[:-1]}\n3 {C}\n4 {A.upper()}\n5 {B}")
    assert st.malformed == [2, 3, 5, 6]  # garbage, short hash, upper case, no line end
    assert st.heads == {1: A, 3: C}
    assert st.lines == 6


def test_written_heads_read_back(tmp_path: Path) -> None:
    w = witness_mod.Witness(tmp_path, every=1000)
    w.create_key()
    heads = [(i, f"{i:064x}") for i in range(1, 2001)]
    w.append_heads(heads[:1000])
    w.append_heads(heads[1000:])
    st = w.read()
    assert st.heads == dict(heads) and st.lines == 2000 and not st.malformed
    assert [(c.seq, c.valid) for c in st.checkpoints] == [(1000, True), (2000, True)]
