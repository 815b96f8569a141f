"""Independent gRPC client (Python grpcio over C-core HTTP/2) for the interop test.

usage: interop_client.py STUBS_DIR ADDRESS
Calls grpc.health.v1 Check, Predictor.Predict with a valid student, and Predict with a bad reading score,
then prints one JSON object with what it saw.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
import predictor_pb2  # noqa: E402
import predictor_pb2_grpc  # noqa: E402


def main():
    result = {}
    with grpc.insecure_channel(sys.argv[2]) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        result["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        predictor = predictor_pb2_grpc.PredictorStub(channel)
        student = predictor_pb2.Student(
            gender="female",
            race_ethnicity="group B",
            parental_level_of_education="bachelor's degree",
            lunch="standard",
            test_preparation_course="none",
            reading_score=72,
            writing_score=74,
        )
        answer = predictor.Predict(predictor_pb2.PredictRequest(student=student), timeout=10)
        result["math_score"] = answer.math_score
        result["model_version"] = answer.model_version

        student.reading_score = 101
        try:
            predictor.Predict(predictor_pb2.PredictRequest(student=student), timeout=10)
            result["bad_code"] = "OK"
        except grpc.RpcError as error:
            result["bad_code"] = error.code().name
            result["bad_details"] = error.details()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
