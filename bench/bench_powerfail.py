"""Benchmark of power-fail safety: SIGKILLs of the terminal during a simulated shift survived with every invariant."""

from sim.killpoints import drill

KILLS = 200
SEED = 2024


def killpoints_survived() -> dict:
    """Kills (of 200, random moments and chosen commits) after which every invariant held (sim/killpoints.py).

    The drill stops at the first broken invariant, so the value is the number of kills survived before it;
    the failure is printed so the number is never read without its reason.
    """
    report = drill(KILLS, seed=SEED)
    print(report.summary())
    return {"value": report.survived, "unit": f"kills of {KILLS}", "better": "higher"}


METRICS = {"killpoints_survived": killpoints_survived}
