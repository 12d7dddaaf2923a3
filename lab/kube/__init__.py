"""An in-memory Kubernetes API, in the real wire format, for kubectl and the official python client.

`store` holds the objects the Coder side of the lab drives; `api` serves them over HTTP (TLS from
lab/tls.py), with `rbac` deciding what each identity may do, `selectors`, `tables` and `watch` shaping
answers as the apiserver does; `kubeconfig` writes the files clients load.
"""
