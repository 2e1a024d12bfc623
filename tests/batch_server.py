"""A loopback OpenAI Batch API for tests: /v1/files, /v1/files/{id}/content, /v1/batches.

Each batch is "processed" when polled: every request line is answered by ``answer(custom_id,
body)`` (a JSON string, the model's content). Faults: ``fail`` (custom ids whose line goes
to the error file), ``expire_after`` (the first batch expires after that many lines, with
partial output), ``polls_in_progress`` (how many polls see ``in_progress`` first), ``hold``
(batch ids that stay ``in_progress`` while listed: a run interrupted between rounds).
A follow-up round's line carries the whole conversation, so ``answer`` can tell the rounds
apart by ``len(body["messages"])`` (2 for the first request, 4 for round 1, ...).
Counters (``uploads``, ``batches``, ``lines_submitted``) let tests check nothing is paid twice.
"""

from __future__ import annotations

import json
import re
import threading
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeBatchServer:
    def __init__(self, answer, fail=(), expire_after: int | None = None, polls_in_progress: int = 1) -> None:
        self.answer = answer
        self.fail = set(fail)
        self.expire_after = expire_after
        self.polls_in_progress = polls_in_progress
        self.hold: set[str] = set()
        self.garbage: list[str] = []  # raw lines added to every output file (a provider's malformed lines)
        self.raw_lines: dict[str, str] = {}  # custom id -> the raw output line written instead of its answer
        self.files: dict[str, str] = {}
        self.batch_state: dict[str, dict] = {}
        self.uploads = 0
        self.chat_requests = 0  # synchronous /chat/completions calls (answer gets custom_id None)
        self.batches: list[list[str]] = []  # custom ids of each created batch
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeBatchServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ behaviour

    def _upload(self, content_type: str, payload: bytes) -> dict:
        message = BytesParser(policy=default_policy).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + payload)
        text = ""
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                text = part.get_payload(decode=True).decode("utf-8")
        with self.lock:
            self.uploads += 1
            file_id = f"file-in-{self.uploads}"
            self.files[file_id] = text
        return {"id": file_id, "object": "file", "bytes": len(text), "created_at": int(time.time()),
                "filename": "batch.jsonl", "purpose": "batch", "status": "processed"}

    def _create(self, body: dict) -> dict:
        lines = [json.loads(line) for line in self.files[body["input_file_id"]].splitlines() if line.strip()]
        with self.lock:
            batch_id = f"batch-{len(self.batches) + 1}"
            self.batches.append([line["custom_id"] for line in lines])
            self.batch_state[batch_id] = {"lines": lines, "polls": 0, "input_file_id": body["input_file_id"], "final": None}
        return self._object(batch_id)

    def _object(self, batch_id: str) -> dict:
        state = self.batch_state[batch_id]
        final = state["final"] or {}
        total = len(state["lines"])
        return {
            "id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": state["input_file_id"],
            "completion_window": "24h", "created_at": int(time.time()), "status": final.get("status", "in_progress" if state["polls"] else "validating"),
            "output_file_id": final.get("output"), "error_file_id": final.get("errors"),
            "request_counts": {"total": total, "completed": final.get("completed", 0), "failed": final.get("failed", 0)},
        }

    def _retrieve(self, batch_id: str) -> dict:
        with self.lock:
            state = self.batch_state[batch_id]
            state["polls"] += 1
            if state["final"] is None and state["polls"] > self.polls_in_progress and batch_id not in self.hold:
                self._process(batch_id, state)
        return self._object(batch_id)

    @staticmethod
    def _completion(content: str, model: str) -> dict:
        return {"id": "chatcmpl-batch", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}

    def _process(self, batch_id: str, state: dict) -> None:
        lines = state["lines"]
        expire = self.expire_after is not None and batch_id == "batch-1"
        done = lines[: self.expire_after] if expire else lines
        output, errors, raw = [], [], list(self.garbage)
        for line in done:
            custom_id = line["custom_id"]
            if custom_id in self.fail:
                errors.append({"id": f"req-{custom_id}", "custom_id": custom_id, "response": {"status_code": 400, "body": {"error": {"message": "injected failure"}}}, "error": None})
                continue
            if custom_id in self.raw_lines:
                raw.append(self.raw_lines[custom_id])
                continue
            body = self._completion(self.answer(custom_id, line["body"]), line["body"]["model"])
            output.append({"id": f"req-{custom_id}", "custom_id": custom_id, "response": {"status_code": 200, "body": body}, "error": None})
        out_id, err_id = f"file-out-{batch_id}", f"file-err-{batch_id}"
        self.files[out_id] = "".join(json.dumps(o) + "\n" for o in output) + "".join(g + "\n" for g in raw)
        self.files[err_id] = "".join(json.dumps(e) + "\n" for e in errors)
        state["final"] = {"status": "expired" if expire else "completed", "output": out_id, "errors": err_id if errors else None,
                          "completed": len(output), "failed": len(errors)}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, payload, raw: bool = False) -> None:
                data = payload.encode("utf-8") if raw else json.dumps(payload).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/octet-stream" if raw else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = self.rfile.read(length)
                if self.path == "/v1/files":
                    self._send(200, server._upload(self.headers["Content-Type"], payload))
                elif self.path == "/v1/batches":
                    self._send(200, server._create(json.loads(payload)))
                elif self.path == "/v1/chat/completions":  # synchronous re-asks (--reask-sync)
                    body = json.loads(payload)
                    with server.lock:
                        server.chat_requests += 1
                    self._send(200, server._completion(server.answer(None, body), body["model"]))
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_GET(self) -> None:
                content = re.fullmatch(r"/v1/files/([^/]+)/content", self.path)
                batch = re.fullmatch(r"/v1/batches/([^/]+)", self.path)
                if content and content.group(1) in server.files:
                    self._send(200, server.files[content.group(1)], raw=True)
                elif batch and batch.group(1) in server.batch_state:
                    self._send(200, server._retrieve(batch.group(1)))
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

        return Handler
