using System.Diagnostics.CodeAnalysis;

// RpcShield's deliberate public surface (docs/architecture.md): everything else is internal, and
// CA1515 keeps it that way. These are what a host, an extension assembly (the sandbox) or a user
// embedding RpcShield needs: the host builder, the proxy.yaml options model and the
// command-extension seam.
[assembly: SuppressMessage("Maintainability", "CA1515", Scope = "namespaceanddescendants", Target = "~N:RpcShield.Configuration", Justification = "The proxy.yaml options model is public surface.")]
[assembly: SuppressMessage("Maintainability", "CA1515", Scope = "type", Target = "~T:RpcShield.RpcShieldHost", Justification = "The host builder is public surface.")]
[assembly: SuppressMessage("Maintainability", "CA1515", Scope = "type", Target = "~T:RpcShield.HostSettings", Justification = "The host builder is public surface.")]
[assembly: SuppressMessage("Maintainability", "CA1515", Scope = "type", Target = "~T:RpcShield.Hosting.Cli.CommandLine", Justification = "Part of the command-extension seam.")]
[assembly: SuppressMessage("Maintainability", "CA1515", Scope = "type", Target = "~T:RpcShield.Hosting.Cli.ICommandExtension", Justification = "The command-extension seam.")]
[assembly: SuppressMessage("Maintainability", "CA1515", Scope = "type", Target = "~T:RpcShield.Hosting.Cli.CommandExtensionAttribute", Justification = "Part of the command-extension seam.")]
