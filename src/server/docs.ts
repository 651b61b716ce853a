/**
 * The docs page: one self-contained HTML file (no CDN, no framework) that fetches /openapi.json
 * with the key typed into it and lists every operation with its parameters, bodies and answers.
 * The page holds no data itself, which is why it is served without a key.
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>facekit API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem 2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0}.op summary{cursor:pointer;padding:.45rem .7rem}
.m{display:inline-block;width:4.5em;font-weight:700;font-family:monospace}.GET{color:#0a6}.POST{color:#06c}.PATCH{color:#a60}.DELETE{color:#c22}
.role{float:right;font-size:.8em;color:#666}.body{padding:.3rem .9rem .8rem}pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:12px}
input{font:inherit;width:28em;padding:.2rem}#err{color:#c22}
</style></head><body>
<h1>facekit HTTP API</h1>
<p>API key (<code>facekit keys create</code>): <input id="key" type="password" autocomplete="off"> <button id="load">Load</button> <span id="err"></span></p>
<div id="doc"></div>
<script>
const el=(t,a={},...c)=>{const e=document.createElement(t);Object.assign(e,a);for(const x of c)e.append(x);return e};
const json=(v)=>el('pre',{},JSON.stringify(v,null,2));
function render(doc){
  const root=document.getElementById('doc');root.replaceChildren(el('p',{},doc.info.description));
  const byTag={};
  for(const [path,ops] of Object.entries(doc.paths))for(const [m,op] of Object.entries(ops))(byTag[op.tags[0]]??=[]).push([m.toUpperCase(),path,op]);
  for(const [tag,ops] of Object.entries(byTag)){
    root.append(el('h2',{},tag));
    for(const [m,path,op] of ops){
      const body=el('div',{className:'body'});
      if(op.parameters)body.append(el('h4',{},'Parameters'),json(op.parameters));
      if(op.requestBody)for(const [type,c] of Object.entries(op.requestBody.content))body.append(el('h4',{},'Body: '+type),json(c.schema));
      for(const [status,r] of Object.entries(op.responses)){
        body.append(el('h4',{},status+' '+(r.description||'')));
        for(const [type,c] of Object.entries(r.content||{}))body.append(json({[type]:c.schema}));
      }
      const summary=el('summary',{},el('span',{className:'m '+m},m),el('code',{},path),' — '+op.summary,el('span',{className:'role'},op['x-role']||'public'));
      root.append(el('details',{className:'op'},summary,body));
    }
  }
}
async function load(){
  const key=document.getElementById('key').value.trim();sessionStorage.setItem('facekit-key',key);
  const err=document.getElementById('err');err.textContent='';
  const r=await fetch('openapi.json',{headers:{authorization:'Bearer '+key}});
  if(!r.ok){err.textContent=(await r.json()).error.message;return}
  render(await r.json());
}
document.getElementById('load').onclick=load;
const saved=sessionStorage.getItem('facekit-key');if(saved){document.getElementById('key').value=saved;load()}
</script></body></html>
`;
