"""Process-tree memory and CPU from /proc."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.procstat import TreeSampler, cpu_seconds, machine_ticks, rss_kib, tree


def test_the_tree_holds_the_root_and_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pids = tree(os.getpid())
        assert pids[0] == os.getpid()
        assert child.pid in pids
    finally:
        child.kill()
        child.wait()


def test_a_gone_process_has_no_tree_and_no_memory():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert tree(child.pid) == []
    assert rss_kib(child.pid) == 0


def test_memory_cpu_and_machine_ticks_are_read():
    assert rss_kib(os.getpid()) > 1000
    sum(range(10**6))
    assert cpu_seconds([os.getpid()]) > 0
    busy, total = machine_ticks()
    assert 0 < busy <= total


def test_the_sampler_keeps_the_peak_of_the_tree():
    sampler = TreeSampler(os.getpid())
    first = sampler.sample()
    assert sampler.peak_total_kib >= first > 0
    assert sampler.processes >= 1
    assert sampler.peak_process_kib <= sampler.peak_total_kib
