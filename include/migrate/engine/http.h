// HTTP through libcurl's easy interface, cancellable mid-transfer.
#pragma once

#include "migrate/engine/services.h"

namespace migrate::engine {

class CurlHttpClient : public HttpClient {
public:
    CurlHttpClient();
    HttpResponse perform(const HttpRequest& request, CancelToken& cancel) override;
};

}  // namespace migrate::engine
