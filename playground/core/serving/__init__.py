"""Running a model on another machine: a LitServe server (`playground serve`) and its client.

Closures cannot cross a network, so remote work is a *named job* ("trajectory", "sample", ...)
with JSON-able arguments and NumPy arrays packed as safetensors bytes (never pickle). The
server streams a job's messages as JSON lines: progress with per-step arrays, then a result
or an error. Stop is a separate request that sets the job's cancel flag; the server's job
loop looks at it after every step. `client.ServerClient` is the app's side (no Qt, stdlib
HTTP only), `jobs` the server's job functions, `server` the LitServe API (optional extra
`serve`), `catalog` the checkpoints a server offers and their fingerprints.
"""
