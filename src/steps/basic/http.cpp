// http: one request (order a backup, toggle an integration, a maintenance page, a webhook);
// expected status; values from the JSON answer as outputs.
#include "../families.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::basic {

std::vector<runbook::ParamSpec> http_request_params() {
    return {
        {"method",
         runbook::ParamType::string,
         false,
         "GET",
         "HTTP method",
         {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}},
        {"headers", runbook::ParamType::string_map, false, "", "request headers"},
        {"body", runbook::ParamType::text, false, "", "request body"},
        {"json", runbook::ParamType::any, false, "", "request body as JSON (sets Content-Type)"},
        {"insecure", runbook::ParamType::boolean, false, "false",
         "do not verify the TLS certificate"},
        {"ca_file", runbook::ParamType::string, false, "", "CA bundle to verify the server with"},
        {"request_timeout", runbook::ParamType::duration, false, "60s", "limit for one request"}};
}

io::HttpRequest http_request_from(const kinds::Params& params, Millis default_timeout) {
    io::HttpRequest request;
    request.url = params.string("url");
    request.method = params.string("method");
    for (const auto& [name, value] : params.string_map("headers"))
        request.headers.push_back(name + ": " + value);
    request.body = params.string("body");
    if (params.has("json")) {
        request.body = params.raw()["json"].dump();
        request.headers.push_back("Content-Type: application/json");
        if (request.method == "GET") request.method = "POST";
    }
    request.insecure = params.boolean("insecure");
    request.ca_file = params.string("ca_file");
    request.timeout =
        params.has("request_timeout") ? params.duration("request_timeout") : default_timeout;
    return request;
}

bool status_matches(const std::string& expected, long status) {
    std::string code = std::to_string(status);
    std::string list = expected;
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t comma = list.find(',', pos);
        std::string item =
            trim(list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (item.size() == 3 && item[1] == 'x' && item[2] == 'x' && code[0] == item[0]) return true;
        if (item == code) return true;
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return false;
}

namespace {

class HttpRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        return context.params.string("method") + " " + context.params.string("url");
    }

    void preflight(kinds::StepContext& context) override {
        io::HttpRequest request = http_request_from(context.params, std::chrono::seconds(15));
        request.method = "HEAD";
        request.body.clear();
        io::HttpResponse response = context.services.http.perform(request, context.cancel);
        if (response.status == 0)
            throw StepError("'" + request.url + "' does not answer: " + response.error, false);
    }

    void run(kinds::StepContext& context) override {
        io::HttpRequest request = http_request_from(context.params, std::chrono::seconds(60));
        io::HttpResponse response = context.services.http.perform(request, context.cancel);
        if (response.status == 0)
            throw StepError(request.method + " " + request.url + ": " + response.error, true);
        context.outputs["status"] = std::to_string(response.status);
        context.outputs["body"] = std::string(utf8_prefix(response.body, 4096));
        context.metrics["bytes"] = response.body.size();
        std::string expected = context.params.string("expect_status");
        if (!status_matches(expected, response.status)) {
            bool retryable = response.status >= 500 || response.status == 429;
            throw StepError(request.method + " " + request.url + " answered " +
                                std::to_string(response.status) + ", expected " + expected + ": " +
                                tail_lines(response.body, 3, 300),
                            retryable);
        }
        extract_outputs(context, response.body);
    }

private:
    static void extract_outputs(kinds::StepContext& context, const std::string& body) {
        auto wanted = context.params.string_map("outputs");
        if (wanted.empty()) return;
        nlohmann::json document;
        try {
            document = nlohmann::json::parse(body);
        } catch (const std::exception&) {
            throw StepError("the answer is not JSON, so outputs cannot be taken from it", false);
        }
        for (const auto& [name, pointer] : wanted) {
            try {
                const auto& value = document.at(nlohmann::json::json_pointer(pointer));
                context.outputs[name] = value.is_string() ? value.get<std::string>() : value.dump();
            } catch (const std::exception&) {
                throw StepError(
                    "output '" + name + "': the answer has nothing at '" + pointer + "'", false);
            }
        }
    }
};

void check_http(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    if (const runbook::Node* outputs = with.find("outputs"))
        for (const auto& [key, value] : outputs->entries)
            if (value.is_scalar() && !value.value.empty() && value.value[0] != '/')
                diagnostics.error(value.mark, "output '" + key.value +
                                                  "' must be a JSON pointer such as /data/id");
    if (with.find("body") && with.find("json"))
        diagnostics.error(with.find("json")->mark, "give 'body' or 'json', not both");
}

}  // namespace

kinds::KindSpec http_kind() {
    std::vector<runbook::ParamSpec> params = {
        {"url", runbook::ParamType::string, true, "", "the URL (http or https)"}};
    for (runbook::ParamSpec& param : http_request_params()) params.push_back(param);
    params.push_back({"expect_status", runbook::ParamType::string, false, "2xx",
                      "accepted statuses: 200, 2xx, \"200,204\""});
    params.push_back({"outputs", runbook::ParamType::string_map, false, "",
                      "outputs taken from the JSON answer: name: /json/pointer"});
    return kinds::KindSpec{
        .schema =
            {
                .name = "http",
                .summary = "one HTTP request with an expected status; values from the JSON answer "
                           "as outputs",
                .params = params,
                .outputs = {"status", "body"},
                .declared_outputs = kinds::outputs_map_names,
                .check = check_http,
            },
        .make = [] { return std::make_unique<HttpRunner>(); },
    };
}

}  // namespace migrate::steps::basic
