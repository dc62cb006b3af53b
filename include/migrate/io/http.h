// HTTP through libcurl's easy interface, cancellable mid-transfer.
#pragma once

#include "migrate/io/services.h"

namespace migrate::io {

class CurlHttpClient : public HttpClient {
public:
    CurlHttpClient();
    HttpResponse perform(const HttpRequest& request, CancelToken& cancel) override;
};

}  // namespace migrate::io
