"""Periodic jobs: duties that fall due with the clock rather than with a click.

Where it sits: jobs call domain services (a job is a use case nobody presses), so app.jobs is
a layer of its own above the domains and below the entry points (app.main starts the
in-process scheduler, app.__main__ runs `python -m app jobs run-once`). The domains know
nothing of it: they offer a plain service function (callable(session, now)) and this package
names it in its registry (app/jobs/registry.py); app.web never hears of jobs at all.

- models: JobLease, one row per job name (holder, leased_until, last start and finish, last
  error, runs);
- lease: taking and giving back a job's lease, each one statement (see its docstring);
- registry: the jobs by name;
- runner: one tick — every due job whose lease it takes, each run in one transaction with the
  lease's bookkeeping and its audit event;
- scheduler: the background thread the app's lifespan starts (YST_JOBS_INTERVAL_SECONDS).

No extra server: the database is the only thing the processes share, so several app
processes (uvicorn workers, a cron entry running `python -m app jobs run-once`) run each job
once per period between them.
"""
