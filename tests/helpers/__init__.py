"""What the tests share, imported by them from here (never from a test module or a conftest):

- lab: `Lab`, a running lab met over the wire (the session's, or a module's own), and `with lab.faults(...)`
- suite: running the suite on a lab (`run_suite`, `SuiteRun`) and reading its output, reports and leaks
- coderd: driving a lab's coderd as a client (create, build, wait, ssh)
- git: the real git against a lab's git host; serving: an aiohttp app on a loopback port
- breakage: what breaks each check (the fault table); injector: a fault-injecting proxy in front of coderd
"""
