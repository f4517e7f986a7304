// Running gnuplot (Debian's gnuplot-nox: the pngcairo terminal, no X) as a
// child process on a script file. The command is $ZFLEET_GNUPLOT when set,
// else `gnuplot` from PATH.
//
// Errors come back as text for the user: the command line, how it ended and
// the end of what it wrote on stderr (the line gnuplot could not run).
//
// Thread safety: functions only; each call waits for its own child.
#pragma once

#include <string>

namespace zfleet::bench {

// $ZFLEET_GNUPLOT, or "gnuplot".
std::string gnuplot_command();

// Runs `gnuplot --version`: "" when it works, else why not. Called before a
// run, so that minutes of measuring are not lost to a missing package.
std::string check_gnuplot();

// Runs `gnuplot script_path` (stdout discarded, stderr kept): "" when it
// exited 0, else the error described above.
std::string run_gnuplot(const std::string& script_path);

}  // namespace zfleet::bench
