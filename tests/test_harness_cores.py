"""The harness forgives a crash only when its core shows Apache's own hard-stop
race (harness.cores); everything else, above all a fault in our module, fails."""

from harness.cores import is_apache_stop_race

APR = "from /lib/x86_64-linux-gnu/libapr-1.so.0"
MPM = "from /usr/lib/apache2/modules/mod_mpm_event.so"
MAIN_THREAD_TAIL = ["#7  0x000055aee5e07850 in ap_run_mpm ()",
                    "#8  0x000055aee5dff1c2 in main ()"]


def mpm_frames(first, count):
    return [f"#{first + i}  0x00007f5ea328{i}06c in ?? () {MPM}" for i in range(count)]


def test_close_worker_sockets_race_is_recognised():
    stack = ([f"#0  0x00007f5ea354f180 in apr_os_sock_get () {APR}"]
             + mpm_frames(1, 6) + MAIN_THREAD_TAIL)
    assert is_apache_stop_race(stack)
    stack[0] = f"#0  0x00007fd044b1050f in apr_socket_timeout_set () {APR}"
    assert is_apache_stop_race(stack)


def test_fault_in_our_module_is_not_forgiven():
    stack = (["#0  0x00007f2a49a3cecf in mod_wsgi_rs::wsgi::run::call_app () "
              "at src/wsgi/run.rs:134"] + mpm_frames(1, 6) + MAIN_THREAD_TAIL)
    assert not is_apache_stop_race(stack)


def test_apr_fault_in_a_worker_thread_is_not_forgiven():
    stack = ([f"#0  0x00007f5ea354f180 in apr_os_sock_get () {APR}",
              "#1  0x000055644041e329 in ap_core_output_filter ()"]
             + mpm_frames(2, 2)
             + ["#4  0x00007f21e214d1f5 in start_thread (arg=<optimized out>)"])
    assert not is_apache_stop_race(stack)


def test_no_stack_is_not_forgiven():
    assert not is_apache_stop_race([])
