"""Writes the hostile-input corpus next to this file: ``python tests/hostile/make_corpus.py``.

Every file is hand-made to break a CSV reader in one way; ``tests/test_hostile.py`` states
the outcome each must have. Kept as a script so the bytes (BOMs, NULs, CRs, invalid UTF-8,
gzip) are reproducible and reviewable; big inputs (a million rows, /dev/zero) are made by
the test itself, not committed.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
D = "The subject_process: bash WRITE the file_object_file: /tmp/x.sh"
R = "The subject_process: curl CONNECT the netflowobject: 203.0.113.7:443"
H = "description,timestamp"
EDGE_H = "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr"


def rows(*lines: str, header: str = H, end: str = "\n") -> bytes:
    return (end.join([header, *lines]) + end).encode("utf-8")


FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "whitespace_only.csv": b"  \n\t\n \r\n",
    "header_only.csv": rows(),
    "header_only_no_newline.csv": H.encode(),
    "wrong_delimiter_semicolon.csv": rows(f"{D};1523505481", header="description;timestamp"),
    "wrong_delimiter_tab.csv": rows(f"{D}\t1523505481", header="description\ttimestamp"),
    "unknown_header.csv": rows("a,b", header="foo,bar"),
    "bom.csv": b"\xef\xbb\xbf" + rows(f"{D},1523505481"),
    "crlf.csv": rows(f"{D},1523505481", f"{R},1523505482", end="\r\n"),
    "bare_cr_line_ends.csv": rows(f"{D},1523505481", f"{R},1523505482", end="\r"),
    "quoted_newlines.csv": rows(f'"The subject_process: a\nb WRITE the file_object_file: /tmp/x",1523505481', f"{R},1523505482"),
    "unbalanced_quote.csv": rows(f'"{D},1523505481', f"{R},1523505482"),
    "mixed_timestamp_formats.csv": rows(f"{D},1523505481", f"{R},2018-04-12 10:00:00", f"{D},2018-04-12T10:00:01", f"{R},12/04/2018"),
    "mixed_offsets.csv": rows(f"{D},2018-04-12T10:00:00Z", f"{R},2018-04-12 10:00:00"),
    "mixed_epoch_units.csv": rows(f"{D},1523505481", f"{R},1523505482000", f"{D},1523505483000000000"),
    "out_of_range_9999.csv": rows(f"{D},2018-04-12 10:00:00", f"{R},9999-12-31 23:59:59"),
    "out_of_range_year_1500.csv": rows(f"{D},2018-04-12 10:00:00", f"{R},1500-01-01 00:00:00"),
    "all_out_of_range.csv": rows(f"{D},9999-12-31 23:59:59", f"{R},0001-01-01 00:00:00"),
    "pre_1970.csv": rows(f"{D},1960-01-01 00:00:00", f"{R},1969-12-31 23:59:59"),
    "negative_epoch.csv": rows(f"{D},-86400", f"{R},-1"),
    "huge_epoch.csv": rows(f"{D},1523505481", f"{R},99999999999999999999999"),
    "february_30.csv": rows(f"{D},2018-02-30 10:00:00", f"{R},2018-02-28 10:00:00"),
    "garbage_timestamps.csv": rows(f"{D},yesterday", f"{R},1523505482", f"{D},NaN", f"{R},  "),
    "nul_bytes.csv": rows(f"The subject_process: ba\x00sh WRITE the file_object_file: /tmp/\x00x,1523505481"),
    "nul_in_header.csv": rows(f"{D},1523505481", header="descr\x00iption,timestamp"),
    "invalid_utf8.csv": rows(f"{D},1523505481") + b"The subject_process: \xff\xfe WRITE the file_object_file: x,1523505482\n",
    "latin1.csv": rows(f"{D},1523505481") + "The subject_process: caf\xe9 WRITE the file_object_file: x,1523505482\n".encode("latin-1"),
    "utf16_le_bom.csv": "\ufeff".encode("utf-16-le") + rows(f"{D},1523505481").decode().encode("utf-16-le"),
    "utf16_be_no_bom.csv": rows(f"{D},1523505481").decode().encode("utf-16-be"),
    "long_field_100k.csv": rows(f"The subject_process: {'A' * 100_000} WRITE the file_object_file: /tmp/{'b' * 100_000},1523505481", f"{R},1523505482"),
    "long_line_no_newline_1mb.csv": ("x" * 1_000_000).encode(),
    "many_columns.csv": rows(f"{D},1523505481," + ",".join(["v"] * 5000), header=H + "," + ",".join(f"c{i}" for i in range(5000))),
    "duplicate_description_header.csv": rows(f"{D},1523505481,x", header="description,timestamp,description"),
    "duplicate_timestamp_header.csv": rows(f"{D},1523505481,1523505482", header="description,timestamp,Timestamp"),
    "extra_columns.csv": rows(f"note,{D},1523505481,more", header="note,description,timestamp,extra"),
    "short_and_long_rows.csv": rows(f"{D},1523505481", f"{R}", f"{D},1523505483,a,b,c", f"{R},1523505484"),
    "only_commas.csv": b",,,\n,,,\n",
    "unparseable_descriptions.csv": rows("hello world,1523505481", "rm -rf /,1523505482"),
    "some_empty_descriptions.csv": rows(f"{D},1523505481", ",1523505482", '"",1523505483'),
    "crafted_action_in_name.csv": rows("The subject_process: backup READ the file_object_file: notes.txt WRITE the file_object_file: /etc/shadow,1523505481"),
    "control_and_bidi_names.csv": rows("The subject_process: \x1b[31mred\x1b[0m WRITE the file_object_file: invoice\u202egpj.exe,1523505481", f"{R},1523505482"),
    "markdown_html_names.csv": rows('"The subject_process: <script>alert(1)</script> WRITE the file_object_file: | a | b |",1523505481'),
    "edges_missing_predicate.csv": rows("u1,subject_process,bash,,1523505481,u2,file_object_file,/tmp/x", "u1,subject_process,bash,EVENT_WRITE,1523505482,u2,file_object_file,/tmp/x", header=EDGE_H),
    "edges_all_blank.csv": rows(",,,,,,,", ",,,,,,,", header=EDGE_H),
    "json_document.csv": b'{"description": "x", "timestamp": 1523505481}\n',
    "html_document.csv": b"<!doctype html><html><body>Not Found</body></html>\n",
    "gzip_named_csv.csv": gzip.compress(rows(f"{D},1523505481"), mtime=0),
    "random_binary.csv": random.Random(6).randbytes(4096),
    "elf_header.csv": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4,
}


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("subgraph.csv", date_time=(2018, 4, 12, 0, 0, 0))
        archive.writestr(info, rows(f"{D},1523505481"))
    return buffer.getvalue()


FILES["zip_named_csv.csv"] = _zip_bytes()

if __name__ == "__main__":
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(FILES)} files to {HERE}")
