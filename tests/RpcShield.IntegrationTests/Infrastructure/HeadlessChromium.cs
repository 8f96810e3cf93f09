using PuppeteerSharp;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>
/// The installed Chromium (Debian package `chromium`), driven headless through PuppeteerSharp.
/// Never downloads a browser; a fresh profile per launch; Chromium's own background traffic off.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private readonly DirectoryInfo _profile;

    private HeadlessChromium(IBrowser browser, DirectoryInfo profile)
    {
        Browser = browser;
        _profile = profile;
    }

    public IBrowser Browser { get; }

    public static bool IsInstalled => File.Exists(Executable);

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        var profile = Directory.CreateTempSubdirectory("rpcshield-chromium-");
        var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            Headless = true,
            ExecutablePath = Executable,
            UserDataDir = profile.FullName,
            Timeout = 60_000,
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        }).ConfigureAwait(false);
        return new HeadlessChromium(browser, profile);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync().ConfigureAwait(false);
        await Browser.DisposeAsync().ConfigureAwait(false);
        try
        {
            _profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be releasing its profile files; a temp directory left behind is harmless.
        }
    }
}

/// <summary>A fact skipped, with a message saying so, only when Chromium is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresChromiumFactAttribute : FactAttribute
{
    public RequiresChromiumFactAttribute()
    {
        if (!HeadlessChromium.IsInstalled)
        {
            Skip = $"{HeadlessChromium.Executable} is not installed (Debian package chromium; scripts/install-deps.sh installs it)";
        }
    }
}
