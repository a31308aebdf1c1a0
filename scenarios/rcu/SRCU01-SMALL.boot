# Torture SRCU instead of RCU.
rcutorture.torture_type=srcu
