using System.Diagnostics.CodeAnalysis;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>The service's error answers. Each throws an <see cref="RpcException"/> with a known status code.</summary>
internal static class RpcErrors
{
    /// <summary>Bad input: INVALID_ARGUMENT carrying google.rpc.BadRequest, one violation per bad field.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidArgument(FieldViolations violations)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(violations.Items);
        var first = violations.Items[0];
        var message = violations.Total == 1
            ? $"{first.Field}: {first.Description}"
            : $"{first.Field}: {first.Description} (and {violations.Total - 1} more)";
        throw new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = message,
            Details = { Any.Pack(badRequest) },
        }.ToRpcException();
    }

    /// <summary>No model is loaded yet: callers should retry once health reports SERVING.</summary>
    [DoesNotReturn]
    public static void ThrowModelNotReady() =>
        throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unavailable, "the model is still loading; wait for health SERVING"));

    /// <summary>The caller's deadline passed or it cancelled while a batch was running.</summary>
    [DoesNotReturn]
    public static void ThrowCancelled(ServerCallContext context, TimeProvider time) =>
        throw new RpcException(context.Deadline <= time.GetUtcNow().UtcDateTime
            ? new global::Grpc.Core.Status(StatusCode.DeadlineExceeded, "deadline exceeded")
            : new global::Grpc.Core.Status(StatusCode.Cancelled, "call cancelled"));
}

/// <summary>
/// Field violations gathered while validating one request. Only the first <see cref="MaxReported"/> are sent
/// back, so a batch of 10,000 bad students cannot blow past header limits; <see cref="Total"/> counts them all.
/// </summary>
internal sealed class FieldViolations
{
    public const int MaxReported = 20;

    public List<BadRequest.Types.FieldViolation> Items { get; } = [];

    public int Total { get; private set; }

    public void Add(string field, string description)
    {
        Total++;
        if (Items.Count < MaxReported)
        {
            Items.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        }
    }
}
