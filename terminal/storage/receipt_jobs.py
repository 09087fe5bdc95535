"""The printer spooler's job store on the terminal's database.

Receipts wait in SQLite (``Storage.receipt_queue``) until the printer has taken them,
so a paper-out, a cover open or a crash never loses one. Jobs are the spooler's
``PrintJob`` (a label and the ESC/POS bytes), kept as JSON with the bytes in base64.
"""

import base64

from printer.spooler import PrintJob
from terminal.storage.database import ReceiptQueue


class StoredJobs:
    def __init__(self, queue: ReceiptQueue) -> None:
        self.queue = queue

    def add(self, job: PrintJob) -> int:
        return self.queue.add({"label": job.label, "data": base64.b64encode(job.data).decode("ascii")})

    def peek(self) -> tuple[int, PrintJob] | None:
        found = self.queue.peek()
        if found is None:
            return None
        job_id, job = found
        return job_id, PrintJob(job["label"], base64.b64decode(job["data"]))

    def remove(self, job_id: int) -> None:
        self.queue.remove(job_id)

    def __len__(self) -> int:
        return len(self.queue)
