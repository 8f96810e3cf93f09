namespace RpcShield.Hosting.Cli;

/// <summary>Names the <see cref="ICommandExtension"/> an extension assembly provides.</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class CommandExtensionAttribute(Type extension) : Attribute
{
    public Type Extension { get; } = extension;
}
