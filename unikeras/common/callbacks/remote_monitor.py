"""RemoteMonitor: POST the epoch logs to an HTTP server."""
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from unikeras.common.callbacks.callback import Callback


class RemoteMonitor(Callback):
    """At each epoch end, POST `{"epoch": i, **logs}` to `root + path`: as a JSON body with
    `send_as_json=True`, else form-encoded as field `field` holding the JSON text. An
    unreachable server gives a warning, not an error."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for k, v in (logs or {}).items():
            payload[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(payload).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError:
            pass   # the server answered: its status is its business, as with Keras
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
