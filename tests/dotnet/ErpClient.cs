// SPDX-License-Identifier: MIT
//
// ErpClient: the calls an X++ class of Dynamics 365 finance and operations
// makes, with the same System.Net classes, compiled at test time by Mono's
// mcs (tests/dotnet/dotnet.sh) and run against the real daemon.  One JSON
// line per request on stdout, then a summary line; exit status 0 when every
// request went as asked (--want), 1 when not, 2 on usage errors.
//
// Commands:
//   soap URL        HttpWebRequest SOAP POSTs (text/xml, SOAPAction,
//                   Expect: 100-continue unless --no-expect, keep-alive):
//                   --count N over --threads T, --gap S seconds between a
//                   thread's requests, --size BYTES of envelope (UTF-8,
//                   not only ASCII), --check echo|sha256|none (the answer
//                   is the body itself, or httpd.py's JSON with its
//                   sha256), --conn-limit K (ServicePoint connections;
//                   .NET's default outside ASP.NET is 2), --header N:V,
//                   --cert PFX (client certificate), --want STATUS.
//                   A failed call prints the WebException's Status and
//                   message, and the status and X-Broker-Error of its
//                   Response when there is one.
//   httpclient URL  the same POSTs with System.Net.Http.HttpClient.
//   fx URL          .NET Framework's HttpWebRequest on the wire, which
//                   Mono's does not copy: the head with Expect, up to
//                   --continue-timeout MS (350, WebRequestHandler's
//                   ContinueTimeout) for a 100 or a final answer, then the
//                   body (never after a final answer); --count POSTs on one
//                   connection; prints whether a 100 came before the body
//                   and each call's milliseconds, and the median.  With
//                   --no-sni the ClientHello has no server_name, as
//                   Schannel's for an IP-literal URL (Mono's
//                   HttpWebRequest sends the IP there, against RFC 6066).
//   mtls HOST:PORT  a TLS handshake with SNI --sni NAME that picks its
//                   client certificate as Schannel does: among --cert
//                   PFX..., the first whose issuer is in the server's
//                   CertificateRequest list; then GET --path.
//
// Trust: the test CA is put in a private Mono store ($HOME/.config/.mono/
// new-certs/Trust, dotnet.sh) and validated by Mono as a root would be.
// One exception is checked here rather than accepted: Mono does not match
// a certificate's iPAddress names, so for an IP-literal URL a name
// mismatch passes only when the chain is otherwise good and the
// certificate's subjectAltName lists exactly that IP address (read from
// its DER here, as Schannel reads it).

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

class Opts
{
	public string Cmd, Target, Sni, Path = "/", Check = "none";
	public int Count = 1, Threads = 1, Size = 2048, ConnLimit = 2;
	public int ContinueTimeout = 350, Timeout = 30000, Want = 200;
	public double Gap;
	public bool Expect = true, NoSni;
	public List<string> Certs = new List<string>();
	public List<KeyValuePair<string, string>> Headers = new List<KeyValuePair<string, string>>();

	public static Opts Parse(string[] a)
	{
		var o = new Opts();
		if (a.Length < 2)
			throw new ArgumentException("usage: ErpClient soap|httpclient|fx|mtls TARGET [options]");
		o.Cmd = a[0];
		o.Target = a[1];
		for (int i = 2; i < a.Length; i++) {
			string k = a[i], v = i + 1 < a.Length ? a[i + 1] : null;
			switch (k) {
			case "--no-expect": o.Expect = false; continue;
			case "--no-sni": o.NoSni = true; continue;
			case "--count": o.Count = int.Parse(v); break;
			case "--threads": o.Threads = int.Parse(v); break;
			case "--size": o.Size = int.Parse(v); break;
			case "--gap": o.Gap = double.Parse(v, System.Globalization.CultureInfo.InvariantCulture); break;
			case "--check": o.Check = v; break;
			case "--conn-limit": o.ConnLimit = int.Parse(v); break;
			case "--continue-timeout": o.ContinueTimeout = int.Parse(v); break;
			case "--timeout": o.Timeout = int.Parse(v); break;
			case "--want": o.Want = int.Parse(v); break;
			case "--sni": o.Sni = v; break;
			case "--path": o.Path = v; break;
			case "--cert": o.Certs.Add(v); break;
			case "--header":
				int c = v.IndexOf(':');
				o.Headers.Add(new KeyValuePair<string, string>(v.Substring(0, c), v.Substring(c + 1).Trim()));
				break;
			default: throw new ArgumentException("unknown option " + k);
			}
			i++;
		}
		return o;
	}
}

static class Json
{
	public static string Str(string s)
	{
		if (s == null)
			return "null";
		var b = new StringBuilder("\"");
		foreach (char ch in s) {
			if (ch == '"' || ch == '\\')
				b.Append('\\').Append(ch);
			else if (ch < 0x20)
				b.AppendFormat("\\u{0:x4}", (int)ch);
			else
				b.Append(ch);
		}
		return b.Append('"').ToString();
	}

	public static string Obj(params object[] kv)
	{
		var b = new StringBuilder("{");
		for (int i = 0; i + 1 < kv.Length; i += 2) {
			if (i > 0)
				b.Append(", ");
			b.Append(Str((string)kv[i])).Append(": ");
			object v = kv[i + 1];
			if (v == null)
				b.Append("null");
			else if (v is bool)
				b.Append((bool)v ? "true" : "false");
			else if (v is int || v is long)
				b.Append(v.ToString());
			else if (v is double)
				b.Append(((double)v).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture));
			else if (v is RawJson)
				b.Append(((RawJson)v).Text);
			else
				b.Append(Str(v.ToString()));
		}
		return b.Append("}").ToString();
	}
}

class RawJson
{
	public string Text;
	public RawJson(string t) { Text = t; }
}

class Result
{
	public int Status;
	public string BrokerError, Failure, Detail;
	public bool Ok;
	public double Ms;
}

static class ErpClient
{
	static readonly object outLock = new object();

	static void Emit(string line)
	{
		lock (outLock) {
			Console.Out.WriteLine(line);
			Console.Out.Flush();
		}
	}

	// The check described at the top: a chain error is never accepted.
	static bool Validate(object sender, X509Certificate cert, X509Chain chain,
	    SslPolicyErrors errors, string host)
	{
		if (errors == SslPolicyErrors.None)
			return true;
		IPAddress ip;
		if (errors != SslPolicyErrors.RemoteCertificateNameMismatch || cert == null ||
		    !IPAddress.TryParse(host, out ip))
			return false;
		foreach (X509Extension e in new X509Certificate2(cert).Extensions)
			if (e.Oid.Value == "2.5.29.17" && SanHasIp(e.RawData, ip.GetAddressBytes()))
				return true;
		return false;
	}

	// DER length at d[i]; i moves past it.
	static int DerLen(byte[] d, ref int i)
	{
		int n = d[i++];
		if (n < 0x80)
			return n;
		int len = 0;
		for (int k = n & 0x7f; k > 0; k--)
			len = len << 8 | d[i++];
		return len;
	}

	// subjectAltName is a SEQUENCE of GeneralName; iPAddress is [7], tag 0x87
	// (Mono formats it as "Unknown (135)" and never matches it).
	static bool SanHasIp(byte[] d, byte[] ip)
	{
		int i = 1;
		if (d.Length < 2 || d[0] != 0x30)
			return false;
		int end = DerLen(d, ref i) + i;
		while (i < end && i < d.Length) {
			byte tag = d[i++];
			int len = DerLen(d, ref i);
			if (tag == 0x87 && len == ip.Length) {
				int k = 0;
				while (k < len && d[i + k] == ip[k])
					k++;
				if (k == len)
					return true;
			}
			i += len;
		}
		return false;
	}

	// A SOAP 1.1 envelope of exactly size bytes of UTF-8, not all ASCII.
	static byte[] Envelope(int seq, int size)
	{
		string head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" +
		    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>" +
		    "<Echo xmlns=\"http://tempuri.org/\"><seq>" + seq + "</seq><text>";
		string tail = "</text></Echo></s:Body></s:Envelope>\n";
		var b = new List<byte>(Encoding.UTF8.GetBytes(head));
		byte[] t = Encoding.UTF8.GetBytes(tail);
		string fill = "Zürich–Köln € invoice line ";
		int i = 0;
		while (b.Count + t.Length < size) {
			byte[] ch = Encoding.UTF8.GetBytes(fill[i++ % fill.Length].ToString());
			if (b.Count + t.Length + ch.Length > size)
				ch = new byte[] { (byte)'.' };
			b.AddRange(ch);
		}
		b.AddRange(t);
		return b.ToArray();
	}

	static string Hex(byte[] d)
	{
		var b = new StringBuilder();
		foreach (byte x in d)
			b.Append(x.ToString("x2"));
		return b.ToString();
	}

	// Does the answer prove the endpoint got the body byte for byte?
	static bool Checked(Opts o, byte[] sent, byte[] got, out string detail)
	{
		detail = null;
		if (o.Check == "echo") {
			if (got.Length == sent.Length) {
				int i = 0;
				while (i < got.Length && got[i] == sent[i])
					i++;
				if (i == got.Length)
					return true;
				detail = "echo differs at byte " + i;
				return false;
			}
			detail = "echo has " + got.Length + " bytes, sent " + sent.Length;
			return false;
		}
		if (o.Check == "sha256") {
			string want = Hex(SHA256.Create().ComputeHash(sent));
			string text = Encoding.UTF8.GetString(got);
			if (text.Contains("\"body_sha256\": \"" + want + "\""))
				return true;
			detail = "sha256 " + want + " not in the answer";
			return false;
		}
		return true;
	}

	static Result Soap(Opts o, int seq)
	{
		var r = new Result();
		byte[] body = Envelope(seq, o.Size);
		var sw = Stopwatch.StartNew();
		var req = (HttpWebRequest)WebRequest.Create(o.Target);
		req.Method = "POST";
		req.ContentType = "text/xml; charset=utf-8";
		req.Headers.Add("SOAPAction", "\"http://tempuri.org/IErp/Echo\"");
		req.ServicePoint.Expect100Continue = o.Expect;
		req.KeepAlive = true;
		req.Timeout = o.Timeout;
		foreach (var h in o.Headers)
			req.Headers.Add(h.Key, h.Value);
		foreach (string c in o.Certs)
			req.ClientCertificates.Add(new X509Certificate2(c, ""));
		req.ContentLength = body.Length;
		try {
			using (Stream s = req.GetRequestStream())
				s.Write(body, 0, body.Length);
			using (var resp = (HttpWebResponse)req.GetResponse()) {
				r.Status = (int)resp.StatusCode;
				byte[] got = ReadAll(resp.GetResponseStream());
				r.Ok = r.Status == o.Want && Checked(o, body, got, out r.Detail);
			}
		} catch (WebException e) {
			r.Failure = e.Status + ": " + e.Message;
			var resp = e.Response as HttpWebResponse;
			if (resp != null) {
				r.Status = (int)resp.StatusCode;
				r.BrokerError = resp.Headers["X-Broker-Error"];
				string text = Encoding.UTF8.GetString(ReadAll(resp.GetResponseStream()));
				r.Detail = text.Split('\n')[0];
				resp.Close();
			}
			r.Ok = r.Status == o.Want;
		}
		r.Ms = sw.Elapsed.TotalMilliseconds;
		return r;
	}

	static HttpClient httpClient;

	static Result Http(Opts o, int seq)
	{
		var r = new Result();
		byte[] body = Envelope(seq, o.Size);
		var sw = Stopwatch.StartNew();
		var msg = new HttpRequestMessage(HttpMethod.Post, o.Target);
		msg.Content = new ByteArrayContent(body);
		msg.Content.Headers.TryAddWithoutValidation("Content-Type", "text/xml; charset=utf-8");
		msg.Headers.TryAddWithoutValidation("SOAPAction", "\"http://tempuri.org/IErp/Echo\"");
		msg.Headers.ExpectContinue = o.Expect;
		foreach (var h in o.Headers)
			msg.Headers.TryAddWithoutValidation(h.Key, h.Value);
		try {
			using (HttpResponseMessage resp = httpClient.SendAsync(msg).Result) {
				r.Status = (int)resp.StatusCode;
				IEnumerable<string> be;
				if (resp.Headers.TryGetValues("X-Broker-Error", out be))
					r.BrokerError = string.Join(",", be);
				byte[] got = resp.Content.ReadAsByteArrayAsync().Result;
				r.Ok = r.Status == o.Want && (r.Status != 200 || Checked(o, body, got, out r.Detail));
				if (r.Status != 200)
					r.Detail = Encoding.UTF8.GetString(got).Split('\n')[0];
			}
		} catch (AggregateException e) {
			Exception x = e.InnerException;
			r.Failure = x.GetType().Name + ": " + x.Message;
			if (x.InnerException != null)
				r.Failure += " <- " + x.InnerException.Message;
		}
		r.Ms = sw.Elapsed.TotalMilliseconds;
		return r;
	}

	static byte[] ReadAll(Stream s)
	{
		var m = new MemoryStream();
		s.CopyTo(m);
		return m.ToArray();
	}

	static string Line(int seq, int thread, Result r)
	{
		return Json.Obj("seq", seq, "thread", thread, "status", r.Status, "ok", r.Ok,
		    "ms", r.Ms, "broker_error", r.BrokerError, "failure", r.Failure,
		    "detail", r.Detail);
	}

	// soap and httpclient: --count calls over --threads threads.
	static int RunCalls(Opts o, Func<Opts, int, Result> call)
	{
		int ok = 0, failed = 0, next = 0;
		var statuses = new Dictionary<int, int>();
		var threads = new List<Thread>();
		for (int t = 0; t < o.Threads; t++) {
			int tid = t;
			var th = new Thread(() => {
				for (;;) {
					int seq = Interlocked.Increment(ref next) - 1;
					if (seq >= o.Count)
						return;
					Result r = call(o, seq);
					lock (statuses) {
						if (r.Ok)
							ok++;
						else
							failed++;
						int n;
						statuses.TryGetValue(r.Status, out n);
						statuses[r.Status] = n + 1;
					}
					Emit(Line(seq, tid, r));
					if (o.Gap > 0 && seq + o.Threads < o.Count)
						Thread.Sleep(TimeSpan.FromSeconds(o.Gap));
				}
			});
			threads.Add(th);
			th.Start();
		}
		foreach (var th in threads)
			th.Join();
		var st = new StringBuilder("{");
		foreach (var kv in statuses)
			st.Append(st.Length > 1 ? ", " : "").Append("\"" + kv.Key + "\": " + kv.Value);
		Emit(Json.Obj("ok", ok, "failed", failed, "statuses", new RawJson(st.Append("}").ToString())));
		return failed == 0 ? 0 : 1;
	}

	// ---- fx: .NET Framework's Expect behaviour on a raw connection ------------

	// A buffered reader whose one outstanding read survives a timed-out wait.
	class Wire
	{
		readonly Stream s;
		byte[] buf = new byte[65536];
		int start, end;
		Task<int> pending;
		readonly byte[] chunk = new byte[16384];

		public Wire(Stream s) { this.s = s; }

		// More bytes within ms (-1: no limit); false when none came in time.
		public bool Fill(int ms)
		{
			if (pending == null)
				pending = s.ReadAsync(chunk, 0, chunk.Length);
			if (!pending.Wait(ms))
				return false;
			int n = pending.Result;
			pending = null;
			if (n <= 0)
				throw new IOException("connection closed by the broker");
			if (end + n > buf.Length) {
				var nb = new byte[Math.Max(buf.Length * 2, end - start + n)];
				Array.Copy(buf, start, nb, 0, end - start);
				end -= start;
				start = 0;
				buf = nb;
			}
			Array.Copy(chunk, 0, buf, end, n);
			end += n;
			return true;
		}

		public int Available { get { return end - start; } }

		int Find(string pat)
		{
			byte[] p = Encoding.ASCII.GetBytes(pat);
			for (int i = start; i + p.Length <= end; i++) {
				int j = 0;
				while (j < p.Length && buf[i + j] == p[j])
					j++;
				if (j == p.Length)
					return i;
			}
			return -1;
		}

		public string Head()
		{
			int at;
			while ((at = Find("\r\n\r\n")) < 0)
				Fill(-1);
			string h = Encoding.ASCII.GetString(buf, start, at - start);
			start = at + 4;
			return h;
		}

		public string Line()
		{
			int at;
			while ((at = Find("\r\n")) < 0)
				Fill(-1);
			string l = Encoding.ASCII.GetString(buf, start, at - start);
			start = at + 2;
			return l;
		}

		public byte[] Take(int n)
		{
			while (Available < n)
				Fill(-1);
			var d = new byte[n];
			Array.Copy(buf, start, d, 0, n);
			start += n;
			return d;
		}
	}

	static int Status(string head)
	{
		string[] f = head.Split(' ');
		return f.Length > 1 ? int.Parse(f[1]) : 0;
	}

	static string Field(string head, string name)
	{
		foreach (string l in head.Split(new[] { "\r\n" }, StringSplitOptions.None)) {
			int c = l.IndexOf(':');
			if (c > 0 && string.Compare(l.Substring(0, c).Trim(), name, true) == 0)
				return l.Substring(c + 1).Trim();
		}
		return null;
	}

	static byte[] Body(Wire w, string head)
	{
		string cl = Field(head, "Content-Length"), te = Field(head, "Transfer-Encoding");
		if (te != null && te.ToLowerInvariant().Contains("chunked")) {
			var m = new MemoryStream();
			for (;;) {
				int n = Convert.ToInt32(w.Line().Split(';')[0].Trim(), 16);
				if (n == 0) {
					while (w.Line() != "")
						;
					return m.ToArray();
				}
				byte[] d = w.Take(n);
				m.Write(d, 0, d.Length);
				w.Take(2);
			}
		}
		return cl != null ? w.Take(int.Parse(cl)) : new byte[0];
	}

	static int Fx(Opts o)
	{
		var uri = new Uri(o.Target);
		var tcp = new TcpClient();
		tcp.Connect(uri.Host, uri.Port);
		tcp.NoDelay = true;
		var ssl = new SslStream(tcp.GetStream(), false,
		    (s, c, ch, e) => Validate(s, c, ch, e, uri.Host));
		// "": no server_name at all, as Schannel for an IP-literal URL
		ssl.AuthenticateAsClient(o.NoSni ? "" : uri.Host, null, SslProtocols.Tls12, false);
		var w = new Wire(ssl);
		var times = new List<double>();
		int failed = 0;
		for (int i = 0; i < o.Count; i++) {
			byte[] body = Envelope(i, o.Size);
			var head = new StringBuilder();
			head.Append("POST " + uri.PathAndQuery + " HTTP/1.1\r\n");
			head.Append("Content-Type: text/xml; charset=utf-8\r\n");
			head.Append("SOAPAction: \"http://tempuri.org/IErp/Echo\"\r\n");
			head.Append("Host: " + uri.Authority + "\r\n");
			head.Append("Content-Length: " + body.Length + "\r\n");
			if (o.Expect)
				head.Append("Expect: 100-continue\r\n");
			if (i == 0)
				head.Append("Connection: Keep-Alive\r\n");
			foreach (var h in o.Headers)
				head.Append(h.Key + ": " + h.Value + "\r\n");
			head.Append("\r\n");
			var sw = Stopwatch.StartNew();
			byte[] hb = Encoding.ASCII.GetBytes(head.ToString());
			ssl.Write(hb, 0, hb.Length);
			ssl.Flush();
			bool gotContinue = false, sendBody = true;
			double continueMs = -1;
			string resp = null;
			if (o.Expect) {
				// wait for anything, as .NET does, up to ContinueTimeout
				var left = Stopwatch.StartNew();
				while (w.Available == 0 && left.ElapsedMilliseconds < o.ContinueTimeout &&
				    w.Fill(Math.Max(1, o.ContinueTimeout - (int)left.ElapsedMilliseconds)))
					;
				if (w.Available > 0) {
					string first = w.Head();
					if (Status(first) == 100) {
						gotContinue = true;
						continueMs = sw.Elapsed.TotalMilliseconds;
					} else {
						resp = first;		// a final answer: the body is not sent
						sendBody = false;
					}
				}
			}
			if (sendBody) {
				ssl.Write(body, 0, body.Length);
				ssl.Flush();
			}
			while (resp == null || Status(resp) == 100) {
				resp = w.Head();
				if (Status(resp) == 100 && !gotContinue) {
					gotContinue = true;
					continueMs = sw.Elapsed.TotalMilliseconds;
				}
			}
			byte[] got = Body(w, resp);
			double ms = sw.Elapsed.TotalMilliseconds;
			string detail;
			bool ok = Status(resp) == o.Want && (!sendBody || Checked(o, body, got, out detail));
			if (!ok)
				failed++;
			times.Add(ms);
			Emit(Json.Obj("seq", i, "status", Status(resp), "ok", ok, "ms", ms,
			    "got_continue", gotContinue, "continue_ms", continueMs,
			    "body_sent", sendBody, "broker_error", Field(resp, "X-Broker-Error")));
			string conn = Field(resp, "Connection");
			if (conn != null && conn.ToLowerInvariant() == "close")
				break;
		}
		times.Sort();
		Emit(Json.Obj("calls", times.Count, "failed", failed,
		    "median_ms", times.Count > 0 ? times[times.Count / 2] : 0.0,
		    "min_ms", times.Count > 0 ? times[0] : 0.0,
		    "max_ms", times.Count > 0 ? times[times.Count - 1] : 0.0));
		ssl.Close();
		return failed == 0 && times.Count == o.Count ? 0 : 1;
	}

	// ---- mtls: Schannel's choice of client certificate --------------------------

	static int Mtls(Opts o)
	{
		int colon = o.Target.LastIndexOf(':');
		string host = o.Target.Substring(0, colon);
		int port = int.Parse(o.Target.Substring(colon + 1));
		string sni = o.Sni ?? host;
		var certs = new X509CertificateCollection();
		foreach (string c in o.Certs)
			certs.Add(new X509Certificate2(c, ""));
		string picked = null, issuers = null;
		var tcp = new TcpClient(host, port);
		var ssl = new SslStream(tcp.GetStream(), false,
		    (s, c, ch, e) => Validate(s, c, ch, e, sni),
		    (s, target, local, remote, acceptable) => {
			issuers = acceptable == null ? "" : string.Join("|", acceptable);
			foreach (X509Certificate c in local)
				foreach (string i in acceptable ?? new string[0])
					if (c.Issuer == i) {
						picked = c.Subject;
						return c;
					}
			return null;
		    });
		int status = 0;
		string failure = null;
		try {
			ssl.AuthenticateAsClient(sni, certs, SslProtocols.Tls12, false);
			byte[] req = Encoding.ASCII.GetBytes("GET " + o.Path + " HTTP/1.1\r\nHost: " + sni +
			    "\r\nConnection: close\r\n\r\n");
			ssl.Write(req, 0, req.Length);
			var w = new Wire(ssl);
			status = Status(w.Head());
		} catch (Exception e) {
			failure = e.GetType().Name + ": " + e.Message;
			if (e.InnerException != null)
				failure += " <- " + e.InnerException.Message;
		}
		Emit(Json.Obj("issuers", issuers, "picked", picked, "status", status,
		    "failure", failure));
		return status == o.Want ? 0 : 1;
	}

	static int Main(string[] args)
	{
		Opts o;
		try {
			o = Opts.Parse(args);
		} catch (Exception e) {
			Console.Error.WriteLine(e.Message);
			return 2;
		}
		ServicePointManager.DefaultConnectionLimit = o.ConnLimit;
		string urlHost = o.Cmd == "mtls" ? null : new Uri(o.Target).Host;
		ServicePointManager.ServerCertificateValidationCallback =
		    (s, c, ch, e) => Validate(s, c, ch, e, urlHost);
		switch (o.Cmd) {
		case "soap":
			return RunCalls(o, Soap);
		case "httpclient":
			httpClient = new HttpClient();
			httpClient.Timeout = TimeSpan.FromMilliseconds(o.Timeout);
			return RunCalls(o, Http);
		case "fx":
			return Fx(o);
		case "mtls":
			return Mtls(o);
		default:
			Console.Error.WriteLine("unknown command " + o.Cmd);
			return 2;
		}
	}
}
