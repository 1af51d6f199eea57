/* render_html.c — the timeline as one self-contained HTML page: the data as JSON inside the
 * page, drawn on a canvas (lanes, zoom and pan, hover details, wakeup arrows, the summary).
 * No network fetches. Intervals are packed as flat number arrays (delta-coded starts) and
 * drawn with binary search, skipping what falls in an already painted pixel, so a trace of a
 * million events stays responsive. */
#include <string.h>

#include "lib/json.h"
#include "render/report.h"
#include "analysis/timeline.h"
#include "lib/util.h"

static const char page_head[] =
	"<!DOCTYPE html>\n"
	"<html><head><meta charset='utf-8'><title>conlab timeline</title>\n"
	"<style>\n"
	"body{font:13px sans-serif;margin:0;color:#222}\n"
	"#bar{padding:6px 10px;background:#f3f3f3;border-bottom:1px solid #ccc}\n"
	"#bar button{margin-right:4px}\n"
	"#wrap{position:relative}\n"
	"canvas{display:block;cursor:grab}\n"
	"#tip{position:absolute;display:none;background:#ffffe8;border:1px solid #999;padding:4px 6px;pointer-events:none;white-space:pre;font:12px monospace;z-index:2}\n"
	"#legend span{display:inline-block;margin-right:10px}\n"
	"#legend i{display:inline-block;width:12px;height:10px;margin-right:3px;vertical-align:middle}\n"
	"table{border-collapse:collapse;margin:8px 10px}\n"
	"td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\n"
	"td:first-child,th:first-child{text-align:left}\n"
	"#notes{margin:6px 10px;color:#555}\n"
	"</style></head><body>\n"
	"<div id='bar'><b>conlab timeline</b> <span id='info'></span><br>\n"
	"<button id='reset'>reset zoom</button><button id='zin'>zoom in</button><button id='zout'>zoom out</button>\n"
	"<label><input type='checkbox' id='showarrows' checked> wakeup arrows (blue: a message from another process)</label>\n"
	"<span id='range'></span> &mdash; wheel: zoom, drag: pan, hover: details\n"
	"<div id='legend'></div></div>\n"
	"<div id='wrap'><canvas id='cv'></canvas><div id='tip'></div></div>\n"
	"<div id='notes'></div>\n"
	"<h3 style='margin:8px 10px'>Summary</h3><div id='summary'></div>\n"
	"<script type='application/json' id='data'>";

static const char page_tail[] =
	"</script>\n"
	"<script>\n"
	"(function(){\n"
	"'use strict';\n"
	"var D=JSON.parse(document.getElementById('data').textContent);\n"
	"var KINDS=D.kinds, STATES=D.states;\n"
	"var COL={running:'#2e9e44',runnable:'#e8c21a',unknown:'#bbbbbb',exited:'#666666',\n"
	" mutex:'#d62728',lock:'#d62728',rwlock:'#ff7f0e',condvar:'#9467bd',semaphore:'#c5b0d5',join:'#8c564b',\n"
	" futex:'#e377c2',sleep:'#17becf',read:'#1f77b4',write:'#4a90d9',poll:'#6baed6',accept:'#3182bd',\n"
	" child:'#bcbd22',signal:'#7f7f7f',other:'#999966',none:'#999999'};\n"
	"var LH=18, TOP=22, LEFT=190;\n"
	"var lanes=[], rows=[];\n"
	"D.procs.forEach(function(p){\n"
	" rows.push({proc:p});\n"
	" p.lanes.forEach(function(L){\n"
	"  var n=L.iv.length/4, s=new Float64Array(n), e=new Float64Array(n), c=new Uint16Array(n), a=new Int32Array(n), t=0;\n"
	"  for(var i=0;i<n;i++){t+=L.iv[4*i];s[i]=t;e[i]=t+L.iv[4*i+1];c[i]=L.iv[4*i+2];a[i]=L.iv[4*i+3];}\n"
	"  var hw={};\n"
	"  for(var k=0;k<L.hw.length;k+=3)hw[L.hw[k]]=[L.hw[k+1],L.hw[k+2]];\n"
	"  var py={};\n"
	"  for(var k=0;k<L.py.length;k+=2)py[L.py[k]]=L.py[k+1];\n"
	"  var lane={name:L.comm,tid:L.tid,pid:p.pid,depth:p.depth,s:s,e:e,c:c,a:a,hw:hw,py:py,row:rows.length};\n"
	"  lanes.push(lane); rows.push({lane:lane});\n"
	" });\n"
	"});\n"
	"var byTid={}; lanes.forEach(function(l,i){byTid[l.tid]=i;});\n"
	"var AR=D.arrows, an=AR.length/6;\n"
	"var cv=document.getElementById('cv'), ctx=cv.getContext('2d'), tip=document.getElementById('tip');\n"
	"var v0=0, v1=D.span;\n"
	"function W(){return cv.width-LEFT-10;}\n"
	"function X(t){return LEFT+(t-v0)/(v1-v0)*W();}\n"
	"function T(x){return v0+(x-LEFT)/W()*(v1-v0);}\n"
	"function fmt(ns){if(ns>=1e9)return (ns/1e9).toFixed(3)+' s';if(ns>=1e6)return (ns/1e6).toFixed(2)+' ms';if(ns>=1e3)return (ns/1e3).toFixed(1)+' us';return Math.round(ns)+' ns';}\n"
	"function colorOf(code){var st=code&7,k=(code>>3)&31;var s=STATES[st];if(s==='blocked')return COL[KINDS[k]]||'#999';return COL[s]||'#999';}\n"
	"function lower(arr,t){var lo=0,hi=arr.length;while(lo<hi){var m=(lo+hi)>>1;if(arr[m]<t)lo=m+1;else hi=m;}return lo;}\n"
	"function resize(){cv.width=Math.max(600,window.innerWidth);cv.height=TOP+rows.length*LH+10;draw();}\n"
	"function draw(){\n"
	" ctx.clearRect(0,0,cv.width,cv.height);ctx.font='12px sans-serif';ctx.textBaseline='middle';\n"
	" ctx.fillStyle='#444';\n"
	" for(var k=0;k<=8;k++){var t=v0+(v1-v0)*k/8,x=X(t);ctx.fillRect(x,TOP-4,1,cv.height);ctx.fillText(fmt(t),x+2,8);}\n"
	" ctx.fillStyle='#fff';ctx.fillRect(0,0,LEFT,cv.height);\n"
	" rows.forEach(function(r,ri){\n"
	"  var y=TOP+ri*LH;\n"
	"  if(r.proc){ctx.fillStyle='#000';ctx.font='bold 12px sans-serif';ctx.fillText(' '.repeat(r.proc.depth*2)+'process '+r.proc.pid+' '+r.proc.comm,4,y+LH/2);ctx.font='12px sans-serif';\n"
	"   (r.proc.marks||[]).forEach(function(m){var x=X(m[0]);if(x>=LEFT&&x<=cv.width){ctx.fillStyle='#000';ctx.fillRect(x,y+2,2,LH-4);ctx.fillText(m[1],x+3,y+LH/2);}});return;}\n"
	"  var L=r.lane;ctx.fillStyle='#222';ctx.fillText(' '.repeat(L.depth*2+2)+L.name+' '+L.tid,4,y+LH/2);\n"
	"  var i=lower(L.e,v0),lastx=-1,n=L.s.length;\n"
	"  for(;i<n&&L.s[i]<=v1;i++){\n"
	"   var x0=Math.max(LEFT,X(L.s[i])),x1=Math.min(cv.width,X(L.e[i]));\n"
	"   if(x1<lastx)continue;\n"
	"   var w=Math.max(1,x1-x0);ctx.fillStyle=colorOf(L.c[i]);ctx.fillRect(x0,y+2,w,LH-4);\n"
	"   if(L.c[i]&256){ctx.fillStyle='rgba(0,0,0,0.35)';ctx.fillRect(x0,y+2,w,3);}\n"
	"   lastx=x0+w;\n"
	"  }\n"
	" });\n"
	" var na=0;\n"
	" if(document.getElementById('showarrows').checked){\n"
	"  var ai=lower3(v0),aj=lower3(v1);\n"
	"  if(aj-ai>3000){ctx.fillStyle='#900';ctx.fillText((aj-ai)+' wakeups here: zoom in to see the arrows',LEFT+4,TOP+4);}\n"
	"  else{ctx.strokeStyle='rgba(0,0,0,0.7)';ctx.lineWidth=1;\n"
	"   for(var q=ai;q<aj;q++){var f=AR[6*q+1],to=AR[6*q+2];if(f<0)continue;\n"
	"    var msg=AR[6*q+5];ctx.strokeStyle=ctx.fillStyle=msg?'rgba(0,70,200,0.9)':'rgba(0,0,0,0.7)';\n"
	"    var x=X(AR[6*q]),ya=TOP+lanes[f].row*LH+LH/2,yb=TOP+lanes[to].row*LH+LH/2;\n"
	"    ctx.beginPath();ctx.moveTo(x,ya);ctx.lineTo(x,yb);ctx.stroke();\n"
	"    var d=yb>ya?-1:1;ctx.beginPath();ctx.moveTo(x,yb);ctx.lineTo(x-3,yb+4*d);ctx.lineTo(x+3,yb+4*d);ctx.fill();na++;}}\n"
	" }\n"
	" document.getElementById('range').textContent='showing '+fmt(v0)+' - '+fmt(v1);\n"
	" cv.setAttribute('data-arrows-drawn',na);\n"
	"}\n"
	"function lower3(t){var lo=0,hi=an;while(lo<hi){var m=(lo+hi)>>1;if(AR[6*m]<t)lo=m+1;else hi=m;}return lo;}\n"
	"function zoom(f,at){var t=at===undefined?(v0+v1)/2:at;var n0=t-(t-v0)*f,n1=t+(v1-t)*f;if(n1-n0<100)return;v0=Math.max(0,n0);v1=Math.min(D.span,n1);if(v1<=v0){v0=0;v1=D.span;}draw();}\n"
	"cv.addEventListener('wheel',function(ev){ev.preventDefault();zoom(ev.deltaY>0?1.25:0.8,T(ev.offsetX));},{passive:false});\n"
	"var drag=null;\n"
	"cv.addEventListener('mousedown',function(ev){drag={x:ev.offsetX,v0:v0,v1:v1};cv.style.cursor='grabbing';});\n"
	"window.addEventListener('mouseup',function(){drag=null;cv.style.cursor='grab';});\n"
	"cv.addEventListener('mousemove',function(ev){\n"
	" if(drag){var dt=(ev.offsetX-drag.x)/W()*(drag.v1-drag.v0);var n0=drag.v0-dt,n1=drag.v1-dt;if(n0<0){n1-=n0;n0=0;}if(n1>D.span){n0-=n1-D.span;n1=D.span;}v0=Math.max(0,n0);v1=n1;draw();tip.style.display='none';return;}\n"
	" var ri=Math.floor((ev.offsetY-TOP)/LH),r=rows[ri],t=T(ev.offsetX);\n"
	" if(!r||!r.lane||ev.offsetX<LEFT){tip.style.display='none';return;}\n"
	" var L=r.lane,i=lower(L.e,t);if(i>=L.s.length||L.s[i]>t){tip.style.display='none';return;}\n"
	" tip.textContent=L.name+' ('+L.tid+')\\n'+describe(L,i)+'\\n'+fmt(L.s[i])+' - '+fmt(L.e[i])+' ('+fmt(L.e[i]-L.s[i])+')';\n"
	" tip.style.left=(ev.offsetX+12)+'px';tip.style.top=(ev.offsetY+12)+'px';tip.style.display='block';\n"
	"});\n"
	"cv.addEventListener('mouseleave',function(){tip.style.display='none';});\n"
	"function who(tid){var l=byTid[tid];return (l===undefined?'tid':lanes[l].name)+' ('+tid+')';}\n"
	"function describe(L,i){var c=L.c[i],st=STATES[c&7],k=KINDS[(c>>3)&31],s;\n"
	" if(st==='running')s='running on CPU '+L.a[i];\n"
	" else if(st==='runnable')s='runnable (waiting for a CPU)';\n"
	" else if(st==='blocked'){s=k+(L.a[i]>=0?' '+D.names[L.a[i]]:'');var h=L.hw[i];if(h){if(h[0])s+=(k==='join'?' of ':' held by ')+who(h[0]);if(h[1])s+=', woken by '+who(h[1]);}if(L.py[i]!==undefined)s+='\\nin '+D.names[L.py[i]];}\n"
	" else if(c&512)s='unknown: events lost';\n"
	" else s=st;\n"
	" if((c&256)&&!(c&512))s+=' [uncertain]';return s;}\n"
	"document.getElementById('reset').onclick=function(){v0=0;v1=D.span;draw();};\n"
	"document.getElementById('zin').onclick=function(){zoom(0.5);};\n"
	"document.getElementById('zout').onclick=function(){zoom(2);};\n"
	"document.getElementById('showarrows').onchange=draw;\n"
	"var lg=document.getElementById('legend');\n"
	"['running','runnable','mutex','condvar','semaphore','join','futex','sleep','read','write','poll','child','other','unknown'].forEach(function(k){\n"
	" var s=document.createElement('span');var i=document.createElement('i');i.style.background=COL[k];s.appendChild(i);s.appendChild(document.createTextNode(k));lg.appendChild(s);});\n"
	"var s2=document.createElement('span');s2.textContent='dark top edge = uncertain (events lost nearby)';lg.appendChild(s2);\n"
	"document.getElementById('info').textContent=fmt(D.span)+', '+D.procs.length+' processes, '+lanes.length+' threads, '+an+' wakeup arrows, lost events: '+D.lost;\n"
	"var S=D.summary,h='<table><tr><th>thread</th><th>tid</th><th>on-CPU</th><th>runnable</th><th>blocked</th><th>unknown</th><th>blocked on</th><th>woken</th></tr>';\n"
	"S.threads.forEach(function(r){h+='<tr class=\"lane-row\" data-tid=\"'+r[1]+'\"><td>'+esc(r[0])+'</td><td>'+r[1]+'</td><td>'+fmt(r[2])+'</td><td>'+fmt(r[3])+'</td><td>'+fmt(r[4])+'</td><td>'+fmt(r[5])+'</td><td>'+esc(r[6])+'</td><td>'+r[7]+'</td></tr>';});\n"
	"h+='</table><p style=\"margin:0 10px\">run: on-CPU '+fmt(S.on_cpu)+', runnable '+fmt(S.runnable)+', blocked '+fmt(S.blocked)+', unknown '+fmt(S.unknown)+'; parallelism: average '+S.par_avg.toFixed(2)+', at most '+S.par_max+' threads on a CPU</p>';\n"
	"document.getElementById('summary').innerHTML=h;\n"
	"document.getElementById('notes').textContent=D.notes;\n"
	"function esc(s){return String(s).replace(/[&<>\"]/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c];});}\n"
	"window.addEventListener('resize',resize);\n"
	"resize();\n"
	"document.body.setAttribute('data-ready','1');\n"
	"document.body.setAttribute('data-lanes',lanes.length);\n"
	"})();\n"
	"</script></body></html>\n";

/* A JSON string that is also safe inside <script>: no "</script>" can appear. */
static void hstr(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&')
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static unsigned iv_code(const struct tl_iv *v)
{
	return v->state | (unsigned)v->kind << 3 | (v->flags & IV_UNCERTAIN ? 256 : 0) |
	       (v->flags & TLF_LOST ? 512 : 0);
}

static void lane_data(const struct timeline *tl, const struct tl_lane *l, FILE *out)
{
	uint64_t prev = tl->t0;
	struct tl_cursor c;
	int first = 1;
	size_t k = 0;

	fprintf(out, "{\"comm\":");
	hstr(out, l->comm);
	fprintf(out, ",\"tid\":%u,\"iv\":[", l->tid);
	tl_cursor_ivs(&c, tl, l);
	for (const struct tl_iv *v; (v = tl_next(&c)); k++) {
		long aux = v->state == TH_RUNNING ? v->cpu : v->state == TH_BLOCKED ? v->name : -1;

		fprintf(out, "%s%llu,%llu,%u,%ld", k ? "," : "",
			(unsigned long long)(v->start - prev),
			(unsigned long long)(v->end - v->start), iv_code(v), aux);
		prev = v->start;
	}
	tl_cursor_end(&c);
	fprintf(out, "],\"hw\":[");
	tl_cursor_ivs(&c, tl, l);
	k = 0;
	for (const struct tl_iv *v; (v = tl_next(&c)); k++) {
		if (v->state != TH_BLOCKED || (!v->holder && !v->waker))
			continue;
		fprintf(out, "%s%zu,%u,%u", first ? "" : ",", k, v->holder, v->waker);
		first = 0;
	}
	tl_cursor_end(&c);
	/* the Python code a wait was made by: interval, 1 + name */
	fprintf(out, "],\"py\":[");
	first = 1;
	tl_cursor_ivs(&c, tl, l);
	k = 0;
	for (const struct tl_iv *v; (v = tl_next(&c)); k++) {
		if (v->state != TH_BLOCKED || !v->site)
			continue;
		fprintf(out, "%s%zu,%u", first ? "" : ",", k, v->site - 1);
		first = 0;
	}
	tl_cursor_end(&c);
	fprintf(out, "]}");
}

static void top_reasons(const struct tl_lane *l, char *buf, size_t n)
{
	int k1 = -1, k2 = -1;
	char a[32], b[32];

	for (int k = 1; k < WK_NKINDS; k++) {
		if (!l->blocked_kind[k])
			continue;
		if (k1 < 0 || l->blocked_kind[k] > l->blocked_kind[k1])
			k2 = k1, k1 = k;
		else if (k2 < 0 || l->blocked_kind[k] > l->blocked_kind[k2])
			k2 = k;
	}
	buf[0] = 0;
	if (k1 >= 0)
		snprintf(buf, n, "%s %s%s%s%s%s", wait_kind_name(k1),
			 fmt_dur(a, sizeof(a), l->blocked_kind[k1]), k2 >= 0 ? ", " : "",
			 k2 >= 0 ? wait_kind_name(k2) : "", k2 >= 0 ? " " : "",
			 k2 >= 0 ? fmt_dur(b, sizeof(b), l->blocked_kind[k2]) : "");
}

int timeline_render_html(const struct timeline *tl, const struct model *m, FILE *out)
{
	struct tl_cursor cur;
	char buf[160];
	size_t na = 0;

	fputs(page_head, out);
	fprintf(out, "{\"span\":%llu,\"lost\":%llu,\"kinds\":[",
		(unsigned long long)(tl->t1 - tl->t0), (unsigned long long)tl->lost);
	for (int k = 0; k < WK_NKINDS; k++)
		fprintf(out, "%s\"%s\"", k ? "," : "", wait_kind_name(k));
	fprintf(out, "],\"states\":[");
	for (int s = 0; s < 8; s++)
		fprintf(out, "%s\"%s\"", s ? "," : "", s < TH_NSTATES ? th_state_name(s) : "?");
	fprintf(out, "],\"names\":[");
	for (size_t i = 0; i < tl->nnames; i++) {
		if (i)
			fputc(',', out);
		hstr(out, tl->names[i]);
	}
	fprintf(out, "],\"procs\":[");
	for (size_t p = 0, np = 0; p < tl->nprocs; p++) {
		const struct tl_proc *pr = &tl->procs[p];
		int first = 1;

		if (!pr->nlanes)
			continue;
		fprintf(out, "%s{\"pid\":%u,\"depth\":%d,\"comm\":", np++ ? "," : "", pr->pid,
			pr->depth);
		hstr(out, pr->comm);
		fprintf(out, ",\"marks\":[");
		for (size_t i = 0; i < tl->nmarks; i++) {
			const struct tl_mark *mk = &tl->marks[i];

			if (mk->pid != pr->pid || mk->kind == TLM_THREAD ||
			    (mk->kind == TLM_EXIT && !mk->other))
				continue;
			snprintf(buf, sizeof(buf), "%s%s%s", tl_mark_name(mk->kind),
				 mk->kind == TLM_EXEC ? " " : "", tl_name(tl, mk->name));
			fprintf(out, "%s[%llu,", first ? "" : ",",
				(unsigned long long)(mk->ts - tl->t0));
			hstr(out, buf);
			fputc(']', out);
			first = 0;
		}
		fprintf(out, "],\"lanes\":[");
		for (size_t i = pr->first_lane; i < pr->first_lane + pr->nlanes; i++) {
			if (i > pr->first_lane)
				fputc(',', out);
			lane_data(tl, &tl->lanes[i], out);
		}
		fprintf(out, "]}");
	}
	fprintf(out, "],\"arrows\":[");
	tl_cursor_arrows(&cur, tl);
	for (const struct tl_arrow *a; (a = tl_next(&cur)); na++) {
		fprintf(out, "%s%llu,%d,%d,%d,%u,%u", na ? "," : "",
			(unsigned long long)(a->ts - tl->t0), a->from_lane, a->to_lane, a->name,
			a->kind, a->msg);
	}
	tl_cursor_end(&cur);
	fprintf(out, "],\"summary\":{\"threads\":[");
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];

		fprintf(out, "%s[", i ? "," : "");
		hstr(out, l->comm);
		top_reasons(l, buf, sizeof(buf));
		fprintf(out, ",%u,%llu,%llu,%llu,%llu,", l->tid,
			(unsigned long long)l->time_in[TH_RUNNING],
			(unsigned long long)l->time_in[TH_RUNNABLE],
			(unsigned long long)l->time_in[TH_BLOCKED],
			(unsigned long long)l->time_in[TH_UNKNOWN]);
		hstr(out, buf);
		fprintf(out, ",%u]", l->wakeups_in);
	}
	fprintf(out, "],\"on_cpu\":%llu,\"runnable\":%llu,\"blocked\":%llu,\"unknown\":%llu,"
		"\"par_avg\":%.4f,\"par_max\":%u},\"notes\":",
		(unsigned long long)tl->time_in[TH_RUNNING],
		(unsigned long long)tl->time_in[TH_RUNNABLE],
		(unsigned long long)tl->time_in[TH_BLOCKED],
		(unsigned long long)tl->time_in[TH_UNKNOWN], tl_avg_par(tl), tl->max_par);
	snprintf(buf, sizeof(buf), "lost events: %llu%s; %llu waits ended by the kernel (timer, "
		 "signal, I/O) have no arrow", (unsigned long long)model_lost_total(m),
		 model_lost_total(m) ? " (grey = unknown)" : "",
		 (unsigned long long)tl->kernel_wakeups);
	hstr(out, buf);
	fputc('}', out);
	fputs(page_tail, out);
	return ferror(out) ? -1 : 0;
}
