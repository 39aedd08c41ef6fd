"""py_native: calls the leakyext C extension from known lines, for the
--native end-to-end test. Usage: python3 py_native.py EXT_DIR"""
import sys
import time

sys.path.insert(0, sys.argv[1])
import leakyext  # noqa: E402

# A service loads its extensions at start and leaks later: leaktrace builds
# the unwind table of a newly loaded library within milliseconds.
time.sleep(0.5)


def call_ext():
    return leakyext.leak(9, 777)  # site: call_ext


def main():
    got = call_ext()  # site: main
    print("leaked %d" % got, flush=True)
    # Code objects die with the interpreter: leaktrace reads them a few ms
    # after each allocation (README, Limitations).
    time.sleep(0.3)
    return 0 if got == 9 else 1


if __name__ == "__main__":
    sys.exit(main())  # site: module
