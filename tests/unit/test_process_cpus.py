"""Which CPU each process of `openses serve --processes N` runs on (runtime.process_cpus)."""

from openses.runtime import process_cpus


def test_each_process_gets_a_cpu_of_its_own_from_those_allowed():
    assert process_cpus([0, 1], 2) == [0, 1]
    assert process_cpus([2, 5, 7], 2) == [2, 5]  # a cpuset: only the CPUs this server may use


def test_one_process_or_more_processes_than_cpus_are_not_pinned():
    assert process_cpus([0, 1], 1) is None  # its writer thread needs the other core
    assert process_cpus([0, 1], 3) is None
    assert process_cpus([0], 2) is None
