"""What the tests stand on: the harness (the fixtures), the fakes at the network edge
(fakes/), the processes and the balancer, the recorded payloads (fixtures/)."""
