// Meridian dashboard: live refresh of marked regions, and uploads (one PUT for small files, multipart
// parts from file slices for large ones) with a progress bar. Plain browser JavaScript, no build step.
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // Regions with data-live="URL" are replaced by that URL's HTML every data-every milliseconds.
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var url = el.getAttribute("data-live");
    var every = parseInt(el.getAttribute("data-every") || "3000", 10);
    setInterval(function () {
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { if (r.status === 200) { return r.text(); } throw new Error(r.status); })
        .then(function (html) { el.innerHTML = html; el.setAttribute("data-refreshed", String(Date.now())); })
        .catch(function () {});
    }, every);
  });

  var form = document.getElementById("upload");
  if (!form) { return; }
  var PART = 8 * 1024 * 1024;   // part size (S3's minimum is 5 MiB)
  var PARALLEL = 3;             // parts in flight at once
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");

  function qs(params) {
    return Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  // One XHR (fetch has no upload progress); resolves with the parsed JSON answer.
  function send(method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open(method, url);
      x.setRequestHeader("x-csrf-token", csrf);
      Object.keys(headers || {}).forEach(function (h) { x.setRequestHeader(h, headers[h]); });
      if (onProgress) { x.upload.onprogress = function (e) { onProgress(e.loaded); }; }
      x.onload = function () {
        var answer = {};
        try { answer = JSON.parse(x.responseText || "{}"); } catch (e) { answer = { error: x.responseText }; }
        if (x.status >= 200 && x.status < 300) { resolve(answer); }
        else { reject(new Error(answer.error || ("HTTP " + x.status))); }
      };
      x.onerror = function () { reject(new Error("network error")); };
      x.send(body);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("upload-file").files[0];
    if (!file) { return; }
    var where = {
      bucket: form.getAttribute("data-bucket"),
      zone: form.getAttribute("data-zone"),
      key: (form.getAttribute("data-prefix") || "") + file.name
    };
    var type = file.type || "application/octet-stream";
    var loaded = {};
    function progress(part, n) {
      loaded[part] = n;
      var sum = 0;
      Object.keys(loaded).forEach(function (k) { sum += loaded[k]; });
      var pct = file.size ? Math.min(100, Math.round(sum * 100 / file.size)) : 100;
      bar.value = pct;
      status.textContent = pct + "% of " + file.name;
    }
    document.getElementById("upload-submit").disabled = true;
    var done;
    if (file.size <= PART) {
      done = send("PUT", "/upload/put?" + qs(where), file, { "Content-Type": type },
        function (n) { progress(1, n); });
    } else {
      done = send("POST", "/upload/start?" + qs(where), null, { "x-object-content-type": type })
        .then(function (started) {
          var id = started.upload_id;
          var count = Math.ceil(file.size / PART);
          var next = 1;
          var etags = [];
          function worker() {
            if (next > count) { return Promise.resolve(); }
            var n = next++;
            var slice = file.slice((n - 1) * PART, Math.min(file.size, n * PART));
            var q = Object.assign({ upload_id: id, part: n }, where);
            return send("PUT", "/upload/part?" + qs(q), slice, { "Content-Type": "application/octet-stream" },
              function (b) { progress(n, b); })
              .then(function (r) { etags.push({ part: n, etag: r.etag }); progress(n, slice.size); return worker(); });
          }
          var workers = [];
          for (var i = 0; i < PARALLEL; i++) { workers.push(worker()); }
          var body = JSON.stringify(Object.assign({ upload_id: id, parts: etags }, where));
          return Promise.all(workers)
            .then(function () {
              return send("POST", "/upload/complete", JSON.stringify(Object.assign({ upload_id: id, parts: etags }, where)),
                { "Content-Type": "application/json" });
            })
            .catch(function (e) {
              send("POST", "/upload/abort", body, { "Content-Type": "application/json" }).catch(function () {});
              throw e;
            });
        });
    }
    done.then(function () {
      bar.value = 100;
      status.textContent = "uploaded " + file.name;
      status.id = "upload-status";
      form.setAttribute("data-done", where.key);
      setTimeout(function () { window.location.reload(); }, 300);
    }).catch(function (e) {
      status.textContent = "upload failed: " + e.message;
      form.setAttribute("data-failed", e.message);
      document.getElementById("upload-submit").disabled = false;
    });
  });
})();
