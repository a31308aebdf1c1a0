# A deliberately broken RCU implementation: the test must report FAILURE.
rcutorture.torture_type=busted
