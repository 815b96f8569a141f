using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Admin;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Rollout;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Hosting;

/// <summary>
/// Checks what data annotations cannot express, for every section the deployer reads. Every message starts with
/// the configuration key, so that an operator can fix the setting without reading code. It sits at the top layer
/// because it knows every options class; each of them stays beside the code that reads it.
/// </summary>
internal sealed class DeployerOptionsValidator :
    IValidateOptions<DeployerOptions>,
    IValidateOptions<ContainerSpecOptions>,
    IValidateOptions<DockerOptions>,
    IValidateOptions<DiskGuardOptions>,
    IValidateOptions<PreflightOptions>,
    IValidateOptions<HealthGateOptions>,
    IValidateOptions<CrashLoopOptions>,
    IValidateOptions<WebhookOptions>,
    IValidateOptions<AdminOptions>
{
    private static readonly string[] RestartPolicies = ["no", "always", "unless-stopped", "on-failure"];

    public ValidateOptionsResult Validate(string? name, DeployerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.StateDirectory))
        {
            errors.Add($"{DeployerOptions.SectionName}:StateDirectory must name a folder.");
        }

        if (!Enum.IsDefined(options.Strategy))
        {
            errors.Add($"{DeployerOptions.SectionName}:Strategy must be Recreate or BlueGreen.");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, ContainerSpecOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = ContainerSpecOptions.SectionName;
        if (!IsValidContainerName(options.Name))
        {
            errors.Add($"{S}:Name ('{options.Name}') must be a Docker container name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 100 characters.");
        }

        if (!IPAddress.TryParse(options.HostIp, out _))
        {
            errors.Add($"{S}:HostIp ('{options.HostIp}') must be an IP address.");
        }

        for (var i = 0; i < options.Ports.Count; i++)
        {
            if (!PortBinding.TryParse(options.Ports[i], options.HostIp, out _))
            {
                errors.Add($"{S}:Ports:{i} ('{options.Ports[i]}') must be host:container or ip:host:container, ports 1-65535.");
            }
        }

        if (options.GrpcPort is < 1 or > 65535)
        {
            errors.Add($"{S}:GrpcPort ({options.GrpcPort}) must be a port 1-65535.");
        }
        else if (ContainerSpecFactory.Bindings(options).All(b => b.ContainerPort != options.GrpcPort))
        {
            errors.Add($"{S}:GrpcPort ({options.GrpcPort}) must be published by one of {S}:Ports, or the deployer cannot probe it.");
        }

        if (!RestartPolicies.Contains(options.RestartPolicy, StringComparer.Ordinal))
        {
            errors.Add($"{S}:RestartPolicy ('{options.RestartPolicy}') must be one of {string.Join(", ", RestartPolicies)}.");
        }

        if (options.MemoryMiB < 0)
        {
            errors.Add($"{S}:MemoryMiB ({options.MemoryMiB}) must be 0 (no limit) or positive.");
        }

        if (options.Cpus < 0 || double.IsNaN(options.Cpus))
        {
            errors.Add($"{S}:Cpus ({options.Cpus}) must be 0 (no limit) or positive.");
        }

        RequirePositive(errors, $"{S}:StopTimeout", options.StopTimeout);
        ContainerHardeningValidator.Validate(options.Hardening, $"{S}:Hardening", errors);
        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, DockerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = DockerOptions.SectionName;
        RequirePositive(errors, $"{S}:CallTimeout", options.CallTimeout);
        RequirePositive(errors, $"{S}:PullTimeout", options.PullTimeout);
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var docker) || docker.Scheme is not ("unix" or "tcp" or "http" or "npipe"))
        {
            errors.Add($"{S}:Endpoint ('{options.Endpoint}') must be an absolute unix://, tcp:// or http:// URI.");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, DiskGuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = DiskGuardOptions.SectionName;
        if (options.MinFreeMiB < 0)
        {
            errors.Add($"{S}:MinFreeMiB ({options.MinFreeMiB}) must be 0 or positive.");
        }

        if (options.KeepImages < 1)
        {
            errors.Add($"{S}:KeepImages ({options.KeepImages}) must be at least 1 (the running image).");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, PreflightOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = PreflightOptions.SectionName;
        RequirePositive(errors, $"{S}:Timeout", options.Timeout);
        try
        {
            var request = JsonParser.Default.Parse<PredictRequest>(options.GoldenRequest);
            if (request.Student is null)
            {
                errors.Add($"{S}:GoldenRequest must contain a \"student\" object.");
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            errors.Add($"{S}:GoldenRequest is not a PredictRequest in protobuf JSON: {ex.Message}");
        }
        catch (InvalidJsonException ex)
        {
            errors.Add($"{S}:GoldenRequest is not valid JSON: {ex.Message}");
        }

        if (!(options.MinScore <= options.MaxScore))
        {
            errors.Add($"{S}:MinScore ({options.MinScore}) must not exceed {S}:MaxScore ({options.MaxScore}).");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, HealthGateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = HealthGateOptions.SectionName;
        RequirePositive(errors, $"{S}:Deadline", options.Deadline);
        RequirePositive(errors, $"{S}:ProbeInterval", options.ProbeInterval);
        RequirePositive(errors, $"{S}:RestoreTimeout", options.RestoreTimeout);
        if (options.StableFor < TimeSpan.Zero || options.StableFor >= options.Deadline)
        {
            errors.Add($"{S}:StableFor ({options.StableFor}) must be at least 0 and shorter than {S}:Deadline ({options.Deadline}).");
        }

        if (options.BakeTime < TimeSpan.Zero || options.BakeTime > TimeSpan.FromDays(1))
        {
            errors.Add($"{S}:BakeTime ({options.BakeTime}) must be between 00:00:00 (no bake) and 1.00:00:00.");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, CrashLoopOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        RequirePositive(errors, $"{CrashLoopOptions.SectionName}:Window", options.Window);
        if (options.MaxRestarts < 1)
        {
            errors.Add($"{CrashLoopOptions.SectionName}:MaxRestarts ({options.MaxRestarts}) must be at least 1.");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = WebhookOptions.SectionName;
        RequirePositive(errors, $"{S}:Timeout", options.Timeout);
        if (options.Url.Length > 0)
        {
            if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var hook) || hook.Scheme is not ("http" or "https"))
            {
                errors.Add($"{S}:Url ('{options.Url}') must be an absolute http(s) URL or empty.");
            }
            else if (hook.Scheme == "http" && !hook.IsLoopback)
            {
                errors.Add($"{S}:Url ('{options.Url}') must be https: plain http is allowed only to a loopback address.");
            }

            if (options.Secret.Length < 32)
            {
                errors.Add($"{S}:Secret must be set (at least 32 characters) when {S}:Url is: every webhook is signed with it.");
            }
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var admin) || admin.Scheme != Uri.UriSchemeHttp)
        {
            errors.Add($"{AdminOptions.SectionName}:Url ('{options.Url}') must be an absolute http:// URL such as http://127.0.0.1:9090.");
        }
        else if (!admin.IsLoopback)
        {
            errors.Add($"{AdminOptions.SectionName}:Url ('{options.Url}') must be a loopback address (127.0.0.1, [::1] or localhost): the admin API can roll back and pause the deployer.");
        }

        return Result(errors);
    }

    private static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

    private static void RequirePositive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} ({value}) must be positive.");
        }
    }

    private static bool IsValidContainerName(string? name) =>
        !string.IsNullOrEmpty(name)
        && name.Length <= 100
        && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}

/// <summary>
/// Under <c>Deployer:Strategy</c> = <c>BlueGreen</c>, the edge's layout must be buildable from
/// <c>Deployer:Container:Ports</c> and <c>Deployer:Edge:*</c>: every public port has a loopback port in each slot.
/// </summary>
internal sealed class EdgeLayoutValidator(IOptions<DeployerOptions> deployer, IOptions<ContainerSpecOptions> container) : IValidateOptions<Edge.EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, Edge.EdgeOptions options)
    {
        try
        {
            if (deployer.Value.Strategy != RolloutStrategy.BlueGreen)
            {
                return ValidateOptionsResult.Success;
            }

            Edge.EdgeLayout.Create(ContainerSpecFactory.Bindings(container.Value), container.Value.GrpcPort, options, Edge.EdgeSlot.Blue);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message.Split(" (Parameter", 2)[0]);
        }
        catch (OptionsValidationException)
        {
            // Deployer or Deployer:Container is wrong itself; its own validator names the key.
            return ValidateOptionsResult.Success;
        }
    }
}
