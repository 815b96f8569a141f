using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace StudentPerformance.Deployer.Registry;

/// <summary>Runs one registry operation through the "registry" pipeline and turns every failure into a <see cref="RegistryException"/>.</summary>
internal static class RegistryCall
{
    public static async Task<T> ExecuteAsync<T>(ResiliencePipeline pipeline, string operation, Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(static (call, token) => call(token), call, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException e)
        {
            throw new RegistryException($"{operation}: the registry failed repeatedly; calls are paused until the circuit closes", isTransient: true, inner: e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new RegistryException($"{operation}: the registry did not answer within the request timeout", isTransient: true, inner: e);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"{operation}: cannot reach the registry ({e.HttpRequestError})", isTransient: true, statusCode: (int?)e.StatusCode, inner: e);
        }
        catch (IOException e)
        {
            throw new RegistryException($"{operation}: the connection to the registry broke", isTransient: true, inner: e);
        }
    }

    /// <summary>5xx, 408 and 429 may pass; anything else will not change on its own.</summary>
    public static bool IsTransientStatus(int status) => status >= 500 || status is 408 or 429;
}
