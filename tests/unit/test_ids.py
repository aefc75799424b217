"""Message ids and request ids stay unique across processes, forked ones included."""

import os
import re

from openses.core import ids


def test_message_ids_have_ses_shape():
    assert re.fullmatch(r"0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000",
                        ids.message_id())


def test_a_forked_process_does_not_repeat_the_parents_ids():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, "\n".join(ids.message_id(now=1.0) for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        theirs = set(f.read().split("\n"))
    os.waitpid(pid, 0)
    ours = {ids.message_id(now=1.0) for _ in range(100)}
    assert len(theirs) == 100 and not ours & theirs
