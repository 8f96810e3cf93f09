using Microsoft.Extensions.Time.Testing;
using RpcShield.Features.BundleStatus;
using RpcShield.Features.Inclusion;
using RpcShield.Journal;
using RpcShield.Journal.Reporting;
using RpcShield.Telemetry;

namespace RpcShield.Tests.Features.BundleStatus;

/// <summary>The status book's state machine, and the journal round trip the restore and the report read.</summary>
public sealed class BundleStatusBookTests : IDisposable
{
    private const string Hash = "0x00000000000000000000000000000000000000000000000000000000000000aa";
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"rpcshield-bundle-status-{Guid.NewGuid():N}.db");
    private readonly RecordingJournal _journal = new();
    private readonly BundleStatusBook _book;

    public BundleStatusBookTests() =>
        _book = new BundleStatusBook(new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry()), _journal, new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)));

    [Fact]
    public void An_included_bundle_whose_block_is_reorged_out_goes_back_to_pending_and_is_handed_back_for_judging()
    {
        Submit(Hash, 101);
        _book.Decide("main", Hash, 101, new BundleVerdict(BundleReasons.Included, null, null), "titan", new IncludedIn(101, "titan"));

        var again = _book.Reorged("main", 100);

        Assert.Equal(Hash, Assert.Single(again).BundleHash);
        var status = _book.Get("main", Hash, null)!;
        Assert.Equal(BundleReasons.Pending, status.State);
        Assert.Null(status.IncludedIn);
        Assert.Contains("reorged", status.Detail, StringComparison.Ordinal);
        Assert.Empty(_book.Reorged("main", 100)); // only once
    }

    [Fact]
    public void Reasons_are_tallied_per_builder_of_the_target_block_most_frequent_first()
    {
        string[] hashes = ["0x01", "0x02", "0x03", "0x04"];
        foreach (var hash in hashes)
        {
            Submit(hash, 101);
        }

        _book.Decide("main", hashes[0], 101, new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.FeeTooLow, null), "titan");
        _book.Decide("main", hashes[1], 101, new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.NotSelected, null), "titan");
        _book.Decide("main", hashes[2], 101, new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.NotSelected, null), "titan");
        _book.Decide("main", hashes[3], 101, new BundleVerdict(BundleReasons.Included, null, null), "titan", new IncludedIn(101, "titan"));

        Assert.Equal([KeyValuePair.Create(BundleReasons.NotSelected, 2L), KeyValuePair.Create(BundleReasons.FeeTooLow, 1L)], _book.ReasonsFor("main", "titan"));
        Assert.Empty(_book.ReasonsFor("main", "quasar"));
        Assert.Empty(_book.ReasonsFor("other-chain", "titan"));
        _book.Decide("main", hashes[3], 101, new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.NotSelected, null), "other");
        Assert.Equal([KeyValuePair.Create(BundleReasons.NotSelected, 3L), KeyValuePair.Create(BundleReasons.FeeTooLow, 1L)], _book.ReasonsFor("main"));
    }

    [Fact]
    public void A_reorg_above_the_inclusion_block_changes_nothing()
    {
        Submit(Hash, 101);
        _book.Decide("main", Hash, 101, new BundleVerdict(BundleReasons.Included, null, null), "titan", new IncludedIn(101, "titan"));

        Assert.Empty(_book.Reorged("main", 102));
        Assert.Equal(BundleReasons.Included, _book.Get("main", Hash, 101)!.State);
    }

    [Fact]
    public void A_cancel_reaches_only_pending_bundles_of_its_uuid_whose_block_is_still_ahead_and_a_replacement_cancels_the_one_it_replaces()
    {
        const string Other = "0x00000000000000000000000000000000000000000000000000000000000000bb";
        Submit(Other, 99, uuid: "u1");
        Submit(Hash, 101, uuid: "u1"); // replaces Other only if its block were still ahead (head 100)

        Assert.Equal(1, _book.Cancel("main", "u1", head: 100));
        Assert.Equal(BundleReasons.Cancelled, _book.Get("main", Hash, null)!.Reason);
        Assert.Equal(BundleReasons.Pending, _book.Get("main", Other, null)!.State);

        const string Third = "0x00000000000000000000000000000000000000000000000000000000000000cc";
        Submit(Third, 105, uuid: "u2");
        Submit(Hash, 105, uuid: "u2");
        var replaced = _book.Get("main", Third, null)!;
        Assert.Equal(BundleReasons.Cancelled, replaced.State);
        Assert.Contains($"replaced by bundle {Hash}", replaced.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_builder_failing_is_late_when_the_target_block_was_already_seen_else_not_received_but_never_after_an_acceptance()
    {
        Submit(Hash, 101);
        _book.BuilderAnswered("main", Hash, 101, new BuilderAnswer("a", "error", "http_400 block already sealed", AfterTarget: true));
        _book.AllFailed("main", Hash, 101, head: 101, "Every builder failed (1)");
        Assert.Equal(BundleReasons.Late, _book.Get("main", Hash, 101)!.Reason);

        const string Other = "0x00000000000000000000000000000000000000000000000000000000000000bb";
        Submit(Other, 101);
        _book.AllFailed("main", Other, 101, head: 100, "Every builder failed (1)");
        Assert.Equal(BundleReasons.NotReceived, _book.Get("main", Other, 101)!.Reason);

        const string Third = "0x00000000000000000000000000000000000000000000000000000000000000cc";
        Submit(Third, 101);
        _book.BuilderAnswered("main", Third, 101, new BuilderAnswer("a", "ok", "ok", AfterTarget: false));
        _book.AllFailed("main", Third, 101, head: 100, "Every builder failed (1)");
        Assert.Equal(BundleReasons.Pending, _book.Get("main", Third, 101)!.State);
    }

    [Fact]
    public void The_book_forgets_the_oldest_bundles_beyond_its_capacity()
    {
        for (var i = 0; i <= BundleStatusBook.Capacity; i++)
        {
            Submit("0x" + i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), 101);
        }

        Assert.Equal(BundleStatusBook.Capacity, _book.Count);
        Assert.Null(_book.Get("main", "0x" + 0.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), null));
        Assert.NotNull(_book.Get("main", "0x" + 1.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), null));
    }

    [Fact]
    public void Journaled_statuses_are_read_back_by_the_report_which_ranks_the_reasons_of_the_misses()
    {
        var reasons = new[] { BundleReasons.FeeTooLow, BundleReasons.FeeTooLow, BundleReasons.FeeTooLow, BundleReasons.NotSelected, BundleReasons.Reverted };
        for (var i = 0; i < reasons.Length; i++)
        {
            var hash = "0x" + (i + 1).ToString("x64", System.Globalization.CultureInfo.InvariantCulture);
            Submit(hash, 200);
            _book.Decide("main", hash, 200, new BundleVerdict(BundleReasons.StateOf(reasons[i]), reasons[i], "evidence"), "other");
        }

        Submit(Hash, 200);
        _book.Decide("main", Hash, 200, new BundleVerdict(BundleReasons.Included, null, null), "titan", new IncludedIn(200, "titan"));
        Submit("0x" + 99.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), 201); // still pending: not counted

        var database = new JournalDatabase(_path);
        database.Initialize();
        using (var connection = database.Open())
        {
            JournalRows.InsertAll(connection, _journal.Entries);
        }

        var report = ReportBuilder.Build(_path, new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal((6L, 1L, 5L), (report.BundleReasons.Judged, report.BundleReasons.Included, report.BundleReasons.Missed));
        Assert.Equal([("fee_too_low", 3L, 60.0), ("reverted", 1L, 20.0), ("not_selected", 1L, 20.0)],
            report.BundleReasons.Reasons.Select(r => (r.Reason, r.Count, r.Percent)).ToArray());
        Assert.Equal("60 % of your misses were fee_too_low: raise max fee to at least the base fee of the target block (base fee can rise 12.5 % per block)", report.BundleReasons.FixFirst);
        Assert.Contains("bundles: 60 % of your misses were fee_too_low", ReportTextRenderer.Render(report), StringComparison.Ordinal);

        // The same rows restore the statuses in a new process.
        var restored = new BundleStatusBook(new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry()), new NullFailureJournal(), TimeProvider.System);
        using (var connection = database.Open(readOnly: true))
        {
            var restorer = new BundleStatusRestorer(restored, null!, database, Microsoft.Extensions.Logging.Abstractions.NullLogger<BundleStatusRestorer>.Instance);
            Assert.Equal(7, restorer.Restore(connection)); // none pending with an accepting builder: nothing re-tracked
        }

        var included = restored.Get("main", Hash, 200)!;
        Assert.Equal((BundleReasons.Included, 200L, "titan"), (included.State, included.IncludedIn!.Block, included.IncludedIn.Builder));
    }

    private void Submit(string hash, long target, string? uuid = null) =>
        _book.Submitted("main", hash, target, [], ["0x01"], uuid, null, head: 100, request: []);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_path);
    }

    private sealed class RecordingJournal : IFailureJournal
    {
        public List<JournalEntry> Entries { get; } = [];

        public void Record(JournalEntry entry) => Entries.Add(entry);
    }
}
