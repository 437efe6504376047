#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static long rss(void *a){char b[1<<16];FILE*f=fopen("/proc/self/smaps","r");size_t n=fread(b,1,sizeof b-1,f);b[n]=0;fclose(f);
 char k[32];snprintf(k,32,"%lx-",(unsigned long)a);char*p=strstr(b,k);if(!p)return -1;return strtol(strstr(p,"Rss:")+4,0,10);}
int main(int argc,char**argv){
 const char*path=argv[1]; int prot=atoi(argv[2]); long len=atol(argv[3]); int mc=atoi(argv[4]);
 int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0600);
 char buf[65536]; for(int i=0;i<65536;i++)buf[i]=i*131; write(fd,buf,65536); close(fd);
 fd=open(path,O_RDONLY|O_CLOEXEC);
 unsigned char v[16]; char*a=mmap((void*)0x10000000,len,prot,MAP_PRIVATE|MAP_FIXED,fd,0); if(mc) mincore(a,len,v);
 volatile char c=a[0x66a]; (void)c;
 printf("prot=%d len=%ld mincore=%d rss=%ld\n",prot,len,mc,rss(a));
 return 0;}
