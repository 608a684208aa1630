// Prints one plain closing line ("tests: N passed, N failed, N skipped") and lists suites skipped for a missing
// service, so a run that skipped PostgreSQL, Redis or Chromium says so.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skippedNotes = new Set();
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status === 'pending' && /\[needs /.test(t.fullName)) {
          const m = t.fullName.match(/\[needs ([^\]]+)\]/);
          if (m) skippedNotes.add(m[1]);
        }
      }
    }
    if (skippedNotes.size) {
      console.log(
        `\nSkipped suites that need: ${[...skippedNotes].join(', ')} (not reachable here; set MARGINALIA_REQUIRE_SERVICES=1 to make them fail instead).`,
      );
    }
    console.log(
      `\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped`,
    );
  }
}
module.exports = SummaryReporter;
